"""The account a store defends, and what happens at start-up when the broker's account
is another one (docs/dtms.md §8).

Why: "delete the account file for a fresh account" while keeping the DTMS folder carried
the old account's state into the new one. Its defensive mode vetoed the new account's
orders, its open trades were closed as "position gone at the broker" (a hedge's close
counted as a failure), and its closes fed the new account's rails. So the store keeps
the account it defends (:data:`ACCOUNT_KEY`: ``AccountInfo.identity`` and login) and an
engine that finds another account's there says so once, at WARNING, naming both; keeps
each of the old account's records as an archive (``archive_record``: kept, never acted
on), clears its account mode and the states cached for its trades; and then adopts the
new account's positions as after a lost store. A store written before the account was
kept, or a broker that names no account (an account in memory: replays, test doubles),
says nothing; the store then records the account it found. A directory store only, as
the account's engine lock (:mod:`.account_claim`): a Redis store's replicas see the trades
they lease, and its shared closes (:mod:`.store.closes`) are not reset here; a Redis
store's account is checked when a replica, a remote host or a host's own engine starts on
it (:mod:`.redis_account`), and taken over only by a replica, with the whole store at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hookspecs import AccountInfo

from .store import Store, StoreError, StoreProtocol

#: The store value naming the account whose trades the store holds.
ACCOUNT_KEY = "account"


def other_account(before: Any, mine: Mapping[str, Any]) -> bool:
    """Whether the account a store keeps, ``before`` (``{"identity", "login"}``), is
    another than ``mine``: the same login under another name (a MetaTrader trade server
    renamed or moved by its broker) is the same account, its trades not left behind. The
    one rule of the folder's store and of Redis's (:mod:`.redis_account`)."""
    return (
        isinstance(before, dict)
        and before.get("identity") not in (None, "", mine["identity"])
        and before.get("login") != mine["login"]
    )


def settle_account_change(
    store: StoreProtocol, account: AccountInfo, log: logging.Logger, *, adopt: bool = True
) -> bool:
    """Keep the broker's account in the store; when the store held another account's
    trades, archive them and clear that account's mode first (one WARNING), and answer
    True: the records the engine loaded are that account's, to let go of. ``adopt``:
    the engine adopts the new account's positions (a host's own; ``dtms serve``'s adopts
    none: its clients register theirs), which the WARNING says."""
    if not isinstance(store, Store):
        return False  # Redis: checked at a replica's start-up instead (redis_account)
    if not account.identity:
        return False
    now: dict[str, Any] = {"identity": account.identity, "login": account.login}
    left = False
    try:
        before = store.get_value(ACCOUNT_KEY)
        if other_account(before, now):
            _leave_behind(store, str(before["identity"]), account.identity, log, adopt)
            left = True
        if before != now:
            store.put_value(ACCOUNT_KEY, now)
    except StoreError as exc:
        log.error("DTMS: the account the store defends could not be checked: %s", exc)
    return left


def _leave_behind(
    store: StoreProtocol, old: str, new: str, log: logging.Logger, adopt: bool
) -> None:
    """Archive every record of the ``old`` account, its cached states and its mode."""
    records = store.records()
    open_ = sorted(t for t, r in records.items() if r.get("state") != "CLOSED")
    with store.batch():
        for ticket in records:
            store.archive_record(ticket)
            store.delete_state(ticket)
        store.put_account_mode(None, "")
    shown = ", ".join(map(str, open_)) or "none"
    then = (
        "this account's open positions are adopted"
        if adopt
        else "this account's trades are defended once their programs register them"
    )
    log.warning(
        "DTMS: the store held the trades of account %s, not of this account %s: its %d "
        "records (open: %s) are kept as archives and not acted on, its account mode and "
        "rails start afresh; %s (a store per account: give each its own state_dir)",
        old, new, len(records), shown, then,
    )  # fmt: skip
