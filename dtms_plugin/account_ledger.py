"""The account's ledger: the open trades' records as the DTMS engine that last defended
the account left them, in one file beside the account rather than in a store
(docs/dtms.md §8, docs/scaling.md "Switching the store").

Why: a store holds what DTMS did to a position (a partial close, a stop moved to
breakeven, a hedge, its deadlines), and only that store. Switching ``[plugin.dtms] store``
(a diskcache folder ↔ a Redis URL) with trades open, or losing the folder, left the next
run with no record of them (adopted afresh, HEALTHY: a second partial close of a trade
already partially closed, a second hedge) or, switching back, with the old store's stale
records (a trade hedged meanwhile hedged again, the first hedge left open for good). The
position at the broker cannot say which of its deals were DTMS's (the host's exit manager
takes partials too), so the engine writes its open trades' records where every
configuration of the same account looks: beside the account's engine lock
(``AccountInfo.engine_lock``: ``<account_file>.dtms-ledger.json`` beside a paper account
file, ``hostapp/locks/mt5-<server>-<login>.dtms-ledger.json`` in the user's state folder
for MetaTrader). Each entry names the store that wrote it. An account in one process's
memory (a replay) has no such place and needs none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hookspecs import AccountInfo

from .outfile import write_whole

#: the suffix of the account's engine lock, which the ledger's name replaces
LOCK_SUFFIX = ".dtms-engine.lock"
LEDGER_SUFFIX = ".dtms-ledger.json"
VERSION = 1


def ledger_path(account: AccountInfo) -> Path | None:
    """Where the ledger of ``account`` is kept: beside its engine lock; ``None`` for an
    account no other run can see (no engine lock, no identity)."""
    if not account.engine_lock or not account.identity:
        return None
    lock = Path(account.engine_lock)
    name = lock.name.removesuffix(LOCK_SUFFIX) + LEDGER_SUFFIX
    return lock.with_name(name)


def read_ledger(path: Path, identity: str) -> dict[int, tuple[str, dict[str, Any]]]:
    """The ledger's entries, by ticket: (the store that wrote it, the record as JSON);
    none when there is no ledger, or it is another account's (a paper account file made
    afresh at the same path has another login). OSError or ValueError when it cannot be
    read or is not a ledger."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("trades"), dict):
        raise ValueError("not a DTMS ledger")
    if data.get("identity") != identity:
        return {}
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for ticket, entry in data["trades"].items():
        if isinstance(entry, dict) and isinstance(entry.get("record"), dict):
            out[int(ticket)] = (str(entry.get("store", "")), entry["record"])
    return out


def write_ledger(
    path: Path, identity: str, store: str, records: Mapping[int, Mapping[str, Any]]
) -> None:
    """The ledger of account ``identity``: ``records`` (the open trades', as JSON),
    written by ``store``; whole or not at all (a temporary file renamed over it), private
    to the user. OSError when it cannot be written."""
    data = {
        "version": VERSION,
        "identity": identity,
        "trades": {str(t): {"store": store, "record": dict(r)} for t, r in records.items()},
    }
    text = json.dumps(data, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, True, lambda out: out.write(text))
