"""The start-up check of a ``dtms serve`` replica on a Redis store: its account is the
one the store defends and its settings are those of the live replicas
(:mod:`dtms_plugin.redis_account`, docs/scaling.md "One account, one set of settings per
Redis"). Run on the engine thread before the engine starts and before the registration
consumer reads anything: a replica refused has acted on nothing and read no entry."""

from __future__ import annotations

import time

from hookspecs import BrokerError, HostView

from ..redis_account import Arrival, admit, replica_settings
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
    beat = {
        "id": replicas.id,
        "trades": 0,
        "renewed_at": time.time(),
        "started_at": replicas.started_at.isoformat(),
    }
    arrival = Arrival(
        account,
        who=who,
        me=replicas.id,
        beat=beat,
        ttl_ms=replicas.ttl_ms,
        settings=replica_settings(settings),
    )
    admit(replicas.store, arrival, replicas.log)
