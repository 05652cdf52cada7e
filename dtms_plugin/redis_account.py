"""The account a Redis store defends, and the settings its replicas share, checked when a
``dtms serve`` replica, a remote host or a host's own engine starts on it (docs/scaling.md,
"One account, one set of settings per Redis").

Why: nothing in a Redis store said whose trades it held. A replica started on another
account's store (another paper account file, another MetaTrader login, the same ``store``
URL) joined silently: it consumed the other account's registrations, took the other
account's trades over when one of its replicas died and closed every one of them as
"position gone at the broker" (its broker has no such position), leaving them undefended.
And a replica with other ``[plugin.dtms]`` numbers (a lease of 60 s, another trail) joined
as silently, and its trades were defended by other rules than its neighbours'.

So the store keeps the account it defends (``value:account``: ``AccountInfo.identity``
and login, as a directory store does, :mod:`.local_account_change`; the same login under
another name is the same account) and the settings its replicas run with
(``value:replica_settings``: the engine's, :func:`.local_settings_change.engine_settings`,
and ``lease_seconds``). At start-up:

- another account's store while one of its replicas is live: refused, in one line naming
  both accounts and the store, and what to do; with none live (the old account is gone:
  a fresh paper account file), the store is taken over as a directory store is: the old
  account's records archived and never acted on, its queued registrations, left closes,
  rails and mode cleared (one WARNING);
- a replica whose settings differ from those of live replicas: refused, naming each key
  that differs (values masked as ``/dtms/status`` shows them); with none live, its
  settings are in force, and it says once which changed.

A host checks the account alone (a remote host's own settings are not in force: the
server's are, :mod:`.remote_settings`; a local engine is the store's only engine), and
never takes another account's store over: it writes no heartbeat, so a host of the other
account still using the store cannot be told. The
check and what it writes are one step (:mod:`.redis_gate`), so two replicas starting at
once cannot both take the store over. An account that names itself not (an account in
memory: test doubles) is not checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import redis

from hookspecs import AccountInfo, BrokerError, HostView

from .local_account_change import other_account
from .local_settings_change import SETTINGS_KEY as ENGINE_SETTINGS_KEY
from .local_settings_change import changes, engine_settings
from .redis_gate import GATE
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol
from .store.disk import encode

if TYPE_CHECKING:
    from .store.redis_store import RedisStore

#: the store values (``value:<name>``) this module keeps: as a directory store names the
#: account (:data:`.local_account_change.ACCOUNT_KEY`)
ACCOUNT_KEY = "account"
SETTINGS_KEY = "replica_settings"
#: a check that finds what it read changed meanwhile (another replica starting) looks again
TRIES = 5


def replica_settings(settings: DtmsSettings) -> dict[str, Any]:
    """What replicas of one store must agree on: the engine's settings and the lease."""
    return {**engine_settings(settings), "lease_seconds": settings.lease_seconds}


def settings_digest(settings: Mapping[str, Any]) -> str:
    """A short digest of :func:`replica_settings` as stored: what each heartbeat says of
    its replica's settings, for a replica starting when the store lost the settings."""
    text = encode(json.loads(encode(dict(settings))))
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


class Arrival:
    """What a replica (``me``: its id and heartbeat) or a remote host (``me`` empty)
    brings to a store: its account and, for a replica, its settings."""

    def __init__(
        self,
        account: AccountInfo,
        *,
        who: str,
        me: str = "",
        beat: Mapping[str, Any] | None = None,
        ttl_ms: int = 0,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.account = account
        self.who = who
        self.me = me
        self.beat = encode(dict(beat)) if beat is not None else ""
        self.ttl_ms = ttl_ms
        #: as JSON reads it back (tuples as lists), to compare with what is stored
        self.settings = json.loads(encode(dict(settings))) if settings is not None else None
        self.digest = settings_digest(settings) if settings is not None else ""
        self.mine = {"identity": account.identity, "login": account.login}


def admit(store: RedisStore, arrival: Arrival, log: logging.Logger) -> None:
    """Check ``arrival`` against the store and write what it changes (its heartbeat, the
    account, the settings; a takeover's archives), in one step; :class:`StoreError` in
    one line when it must not start."""
    for _ in range(TRIES):
        account, settings, live = _look(store, arrival)
        _check_beats(store, arrival, settings, live)
        reply = _commit(store, arrival, account, settings, list(live), log)
        if reply is not None:
            return
    raise StoreError(
        f"store {store.location}: the account or settings it keeps changed at each of"
        f" {TRIES} looks (replicas starting at the same time?): start this one again"
    )


def admit_host(store: StoreProtocol, host: HostView) -> None:
    """A remote host on a Redis store: its outbox, open list and the replicas' records
    are one account's. It starts on it only when its broker's account is that one (or
    the store names none yet: then it is this one's); :class:`StoreError` in one line
    otherwise, and when the broker does not say its account (this host would send and
    report the other's trades as its own)."""
    from .store.redis_store import RedisStore

    if not isinstance(store, RedisStore):
        return
    try:
        account = host.broker.account()
    except BrokerError as exc:
        raise StoreError(
            f"store {store.location}: this host cannot check that the store defends its"
            f" account: the broker does not say which it is ({exc})"
        ) from None
    admit(store, Arrival(account, who="this host"), store.log)


def admit_engine(store: StoreProtocol, account: AccountInfo) -> None:
    """A host's own engine (the local strategy) on a Redis store, as a remote host: it
    loaded another account's records as its own, closed them as gone (its broker has no
    such positions) and took that account's defensive mode. Refused in one line, never
    a takeover: the other account's host may only be stopped, its trades open."""
    from .store.redis_store import RedisStore

    if isinstance(store, RedisStore):
        admit(store, Arrival(account, who="this host's engine"), store.log)


def _look(store: RedisStore, arrival: Arrival) -> tuple[str, str | None, dict[str, Any]]:
    """The account and settings values as stored (text; ``""``: none) and the other live
    replicas: their heartbeats by id."""
    p, client = store.prefix, store.client
    try:
        pipe = client.pipeline(transaction=False)
        pipe.get(f"{p}value:{ACCOUNT_KEY}")
        pipe.get(f"{p}value:{SETTINGS_KEY}")
        pipe.zrange(f"{p}replicas", 0, -1, withscores=True)
        account, settings, rows = pipe.execute(raise_on_error=False)
        rows = [] if isinstance(rows, Exception) else [r for r in rows if r[0] != arrival.me]
        ids = [i for i, _ in rows]
        beats = client.mget([f"{p}replica:{i}" for i in ids]) if ids else []
    except redis.RedisError as exc:
        raise StoreError(f"store {store.location}: reading the account it defends: {exc}") from None
    # live: its heartbeat there, or not yet dead by its score (a full Redis that evicts
    # keys with a TTL takes heartbeats first: "nobody is live" is not read from them alone)
    now = time.time()
    live = {
        i: _loads(beat) if beat is not None else None
        for (i, until), beat in zip(rows, beats, strict=True)
        if beat is not None or until > now
    }
    text = account if isinstance(account, str) else ""
    kept = settings if isinstance(settings, str) else ""
    return text, kept if arrival.settings is not None else None, live


def _check_beats(
    store: RedisStore, arrival: Arrival, settings: str | None, live: Mapping[str, Any]
) -> None:
    """Refuse ``arrival`` when a live replica's heartbeat names another account, or, with
    no settings kept, other settings. The store's own keys of them are written once, at
    admission, and written back by the live replicas only at their next renewal after
    the store was emptied (:mod:`.server.store_loss`): checked against those keys alone,
    a replica of another account started on an emptied store found none, was let in and
    took the live replicas' trades as its own."""
    for id_, beat in live.items():
        theirs = beat.get("account") if isinstance(beat, dict) else None
        if arrival.account.identity and other_account(theirs, arrival.mine):
            first = [id_, *(i for i in live if i != id_)]
            raise StoreError(_refusal(store, theirs, arrival, first))
    if settings != "" or arrival.settings is None:
        return  # kept: compared key by key (_commit)
    unlike = [
        i
        for i, beat in live.items()
        if isinstance(beat, dict) and beat.get("settings") not in (None, arrival.digest)
    ]
    if unlike:
        raise StoreError(
            f"{arrival.who}'s [plugin.dtms] settings differ from those live replica"
            f" {unlike[0]} of store {store.location} runs with ({len(unlike)} such live), and"
            " the store lost the settings it kept (flushed or restarted empty), so which keys"
            " differ cannot be said; replicas share one [plugin.dtms] (docs/scaling.md):"
            " start it with theirs, or stop them all and start every replica with the new ones"
        )


def _commit(
    store: RedisStore,
    arrival: Arrival,
    account: str,
    settings: str | None,
    live: list[str],
    log: logging.Logger,
) -> list[Any] | None:
    """Decide from what :func:`_look` read, and write it; None when it changed meanwhile."""
    before = _loads(account)
    other = arrival.account.identity != "" and other_account(before, arrival.mine)
    if other and live:
        raise StoreError(_refusal(store, before, arrival, live))
    if other and not arrival.me:
        raise StoreError(_host_refusal(store, before, arrival))
    new_account = ""
    if arrival.account.identity and before != arrival.mine:
        new_account = encode(arrival.mine)
    differ: list[str] = []
    clash: list[str] = []
    new_settings = ""
    if arrival.settings is not None:
        differ, clash = _differ(store, _loads(settings or ""), arrival.settings)
        if clash and live:
            raise StoreError(_settings_refusal(store, arrival, live, clash))
        if _loads(settings or "") != arrival.settings:  # changed, or none kept yet
            new_settings = encode(arrival.settings)
    args = [
        store.prefix,
        account,
        "-" if settings is None else settings,
        # a change waits for no live replica: of a remote host (no id), any one counts
        (arrival.me or "-") if (other or clash) else "",
        new_account,
        new_settings,
        "1" if other else "0",
        arrival.me,
        arrival.beat,
        arrival.ttl_ms,
        time.time(),
        f"{store.prefix}registrations",
        "dtms",  # the consumer group (server/replica_stream.py)
    ]
    try:
        reply = store.client.register_script(GATE)(keys=[], args=args)
    except redis.RedisError as exc:
        raise StoreError(
            f"store {store.location}: checking the account it defends: {exc}"
        ) from None
    if reply[0] == "changed":
        return None
    if reply[0] == "live":
        return None  # a replica started meanwhile: looked at again, and refused then
    if other:
        _say_taken_over(store, before, arrival, [int(x) for x in reply[1:4]], reply[4:], log)
    if differ and not live:
        log.warning(
            "DTMS: %s runs with other [plugin.dtms] settings than the replicas of store %s"
            " last ran with, and none of them is live: this replica's are in force from now"
            " on, for every trade it registers or takes over: %s",
            arrival.who, store.location, "; ".join(differ),
        )  # fmt: skip
    return list(reply)


def _differ(store: RedisStore, before: Any, now: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Each setting that differs (``key before → now``) from those stored, and of them
    those both name: a setting one side does not name (a release that added one) refuses
    nothing, so replicas can be upgraded one at a time. From a store written before
    replicas kept theirs: the engine's settings of the last start-up, on the keys both
    name."""
    if not isinstance(before, dict):
        before = store.get_value(ENGINE_SETTINGS_KEY)
        if not isinstance(before, dict):
            return [], []
        now = {k: v for k, v in now.items() if k in before}
    both = before.keys() & now.keys()
    clash = changes({k: before[k] for k in both}, {k: now[k] for k in both})
    return changes(before, now), clash


def name(account: Any) -> str:
    if not isinstance(account, dict):
        return "?"
    return f"{account.get('identity')} (login {account.get('login')})"


def _refusal(store: RedisStore, before: Any, arrival: Arrival, live: list[str]) -> str:
    return (
        f"store {store.location} defends the trades of account {name(before)}, and its"
        f" replica {live[0]} is live ({len(live)} live); {arrival.who}'s account is"
        f" {name(arrival.mine)}: two accounts on one store would act on each other's"
        " trades. Give this account a store of its own (another database number in the"
        " URL, …/1), or, to move this store to this account, stop every replica of the"
        " other one (`dtms export` first keeps its closed trades' history): the first"
        " replica of this account to start then archives its records (docs/scaling.md)"
    )


def _host_refusal(store: RedisStore, before: Any, arrival: Arrival) -> str:
    """A host writes no heartbeat: whether a host of the other account still uses the
    store (a remote host's outbox and open list, a local engine's records) cannot be
    told, so a host never takes it over."""
    return (
        f"store {store.location} defends the trades of account {name(before)}; {arrival.who}'s"
        f" account is {name(arrival.mine)}, and a host does not take a store over (a host"
        " of that account, running or stopped, may still keep its trades there). Give this"
        " account a store"
        " of its own (another database number in the URL, …/1), or start a `dtms serve`"
        " replica of this account on it first: once no replica of the other account is"
        " live, it archives that account's records (`dtms export` first keeps its closed"
        " trades' history; docs/scaling.md)"
    )


def _settings_refusal(
    store: RedisStore, arrival: Arrival, live: list[str], differ: list[str]
) -> str:
    return (
        f"{arrival.who}'s [plugin.dtms] settings differ from those the {len(live)} live"
        f" replicas of store {store.location} run with (first {live[0]}): {'; '.join(differ)};"
        " replicas share one [plugin.dtms] (docs/scaling.md): start it with theirs, or stop"
        " them all and start every replica with the new ones (a replica stopped less than"
        " lease_seconds ago still counts as live)"
    )


def _say_taken_over(
    store: RedisStore,
    before: Any,
    arrival: Arrival,
    counts: list[int],
    open_: list[Any],
    log: logging.Logger,
) -> None:
    archived, queued, outbox = counts
    shown = ", ".join(sorted((str(t) for t in open_), key=int)) or "none"
    log.warning(
        "DTMS: store %s held the trades of account %s, not of this account %s, and no"
        " replica of it is live: its %d records (open: %s) are kept as archives and not"
        " acted on; its account mode, rails' closes, closes left for its trades, %d"
        " registrations not yet applied and %d remote hosts' outbox entries are cleared;"
        " the store defends this account from now on (a store per account: another"
        " database number in the URL)",
        store.location, name(before), name(arrival.mine), archived, shown, queued, outbox,
    )  # fmt: skip


def _loads(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
