"""A replica in the test's process, live (its heartbeat written) on a real Redis store."""

from __future__ import annotations

import logging

from dtms_plugin.redis_account import Arrival, admit, replica_settings
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store.redis_store import RedisStore
from hookspecs import AccountInfo

LOG = logging.getLogger("test.account_gate")


def account(identity: str, login: int) -> AccountInfo:
    return AccountInfo(login, 1e4, 1e4, "hedging", identity=identity)


A, B = account("paper 111", 111), account("paper 222", 222)


def arrive(
    store: RedisStore, who: AccountInfo, me: str, settings: DtmsSettings | None = None
) -> None:
    """A replica ``me`` of account ``who`` checked in (its heartbeat written with the
    check, as :func:`~dtms_plugin.server.replica_admission.admit_replica` does)."""
    beat = {"id": me, "trades": 0, "renewed_at": 0.0, "started_at": ""}
    wanted = replica_settings(settings or DtmsSettings())
    admit(store, Arrival(who, who=f"replica {me}", me=me, beat=beat, ttl_ms=5000,
                         settings=wanted), LOG)  # fmt: skip


def live_replica(store: RedisStore) -> Replicas:
    replica = Replicas(store, cycle_seconds=0.1, log=logging.getLogger("test.replicas"))
    replica.renew()  # heartbeat: live from now on
    return replica


def expired(store: RedisStore, *ids: str) -> None:
    """The heartbeats of replicas ``ids`` expired, as a lease TTL after their last
    renewal: the key gone, and their score in ``replicas`` (when they count as dead)
    passed."""
    store.client.delete(*(f"dtms:replica:{i}" for i in ids))
    store.client.zadd("dtms:replicas", dict.fromkeys(ids, 0.0))


def admitted(store: RedisStore) -> Replicas:
    """A replica of account :data:`A` admitted (as ``dtms serve`` checks it in), renewed."""
    from types import SimpleNamespace

    from dtms_plugin.server.replica_admission import admit_replica

    replica = Replicas(store, cycle_seconds=0.1, lease_seconds=1.0)
    host = SimpleNamespace(broker=SimpleNamespace(account=lambda: A))
    admit_replica(replica, host, DtmsSettings())  # type: ignore[arg-type]
    replica.renew()
    return replica


class LeaseEngine:
    """What the lease step (:func:`~dtms_plugin.server.replica_service.lease_step`) uses
    of the local strategy: its book, and recover."""

    def __init__(self) -> None:
        from dtms_plugin.book import TradeBook

        self.book = TradeBook()

    async def recover(self, host: object, now: object) -> None:
        return None
