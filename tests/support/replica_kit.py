"""A replica in the test's process, live (its heartbeat written) on a real Redis store."""

from __future__ import annotations

import logging

from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore


def live_replica(store: RedisStore) -> Replicas:
    replica = Replicas(store, cycle_seconds=0.1, log=logging.getLogger("test.replicas"))
    replica.renew()  # heartbeat: live from now on
    return replica
