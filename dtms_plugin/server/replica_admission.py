"""The start-up check of a ``dtms serve`` replica on a Redis store: its account is the
one the store defends and its settings are those of the live replicas
(:mod:`dtms_plugin.redis_account`, docs/scaling.md "One account, one set of settings per
Redis"). Run on the engine thread before the engine starts and before the registration
consumer reads anything: a replica refused has acted on nothing and read no entry.

And after it: a replica paused (or cut off from Redis) past its lease counts as live no
more, so a replica of another account may take the store over meanwhile. Its leases and
its account's records are gone then, and fencing refuses what it writes of them; but it
would claim the new account's orphans and apply its registrations, on its own broker,
which has none of those positions. So before it claims or applies anything it checks
that the store still defends its account (:func:`moved_away`), and takes nothing while
it does not."""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from hookspecs import BrokerError, HostView

from ..local_account_change import other_account
from ..redis_account import ACCOUNT_KEY, Arrival, admit, name, replica_settings, settings_digest
from ..settings import DtmsSettings
from ..store import StoreError
from .replicas import Replicas


def admit_replica(replicas: Replicas, host: HostView, settings: DtmsSettings) -> None:
    """Check this replica in (its first heartbeat written with the check), or raise
    :class:`StoreError` in one line saying why it must not start and what to do."""
    who = f"replica {replicas.id}"
    try:
        account = host.broker.account()
    except BrokerError as exc:  # a replica that cannot tell its account acts on nothing
        raise StoreError(
            f"store {replicas.store.location}: {who} cannot check that the store defends"
            f" its account: the broker does not say which it is ({exc})"
        ) from None
    wanted = replica_settings(settings)
    # in every heartbeat: a replica starting checks the live ones against its own, even
    # when the store lost its account and settings keys (flushed, restarted empty)
    identity: dict[str, Any] = {"settings": settings_digest(wanted)}
    if account.identity:
        identity["account"] = {"identity": account.identity, "login": account.login}
    beat = {
        "id": replicas.id,
        "trades": 0,
        "renewed_at": time.time(),
        "started_at": replicas.started_at.isoformat(),
        **identity,
    }
    arrival = Arrival(
        account, who=who, me=replicas.id, beat=beat, ttl_ms=replicas.ttl_ms, settings=wanted
    )
    admit(replicas.store, arrival, replicas.log)
    replicas.identity = identity
    if account.identity:
        _ADMITTED[replicas] = arrival.mine


#: the account each replica was admitted for (an account that names itself not: none)
_ADMITTED: WeakKeyDictionary[Replicas, dict[str, Any]] = WeakKeyDictionary()
#: the replicas that said the store moved away, until it is theirs again
_SAID: WeakSet[Replicas] = WeakSet()


def moved_away(replicas: Replicas) -> bool:
    """Whether the store now defends another account than the one ``replicas`` was
    admitted for (taken over while it counted as dead, or let in on a store emptied
    under it): said once at ERROR, with what to do, and a ``/health`` problem (503)
    while it lasts; it logged only, and a load balancer kept sending it requests. A
    store that cannot be read says so elsewhere: not moved, as far as is known."""
    mine = _ADMITTED.get(replicas)
    if mine is None:
        return False
    try:
        now = replicas.store.get_value(ACCOUNT_KEY)
    except StoreError:
        return False
    if not other_account(now, mine):
        _SAID.discard(replicas)
        replicas.account_problem = None
        return False
    how = (
        "the store was emptied (flushed, or Redis restarted without persistence) and a"
        " replica of that account started before this one wrote its account back"
        if replicas.watch.emptied
        else "taken over while this replica was paused or cut off past its lease"
    )
    replicas.account_problem = (
        f"replica {replicas.id}: store {replicas.store.location} defends account"
        f" {name(now)} now, not this replica's {name(mine)} ({how}): it claims no trade"
        " and applies no registration; stop it (docs/scaling.md)"
    )
    if replicas not in _SAID:
        _SAID.add(replicas)
        replicas.log.error("%s", replicas.account_problem)
    return True
