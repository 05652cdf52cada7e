"""What a replica checks of its Redis before it serves (docs/scaling.md, "Redis's
settings"): one that may evict keys without a TTL would drop trade records and the
registration stream without a word, and every replica would go on as if nobody had
ever registered those trades. Such a Redis is refused: the fix is one setting, and a
warning at start-up scrolls away long before the first eviction."""

from __future__ import annotations

import redis

from ..store import StoreError
from ..store.redis_store import RedisStore

#: the policies that never evict a key without a TTL (DTMS's records have none)
SAFE_POLICIES = frozenset(
    {"noeviction", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}
)


def check_eviction(store: RedisStore) -> None:
    """Refuse (:class:`StoreError`) a Redis whose ``maxmemory-policy`` may evict DTMS's
    keys. Read from ``INFO memory``, which works where ``CONFIG`` is disabled (managed
    Redis services); a Redis that answers neither is said to be unchecked, at WARNING."""
    try:
        policy = store.client.info("memory").get("maxmemory_policy")
    except redis.RedisError as exc:
        policy, why = None, f"{type(exc).__name__}: {exc}"
    else:
        why = "INFO memory does not say it"
    if not isinstance(policy, str):
        store.log.warning(
            "store %s: could not check its maxmemory-policy (%s); DTMS needs one that never"
            " evicts keys without a TTL: noeviction or volatile-* (docs/scaling.md)",
            store.location,
            why,
        )
        return
    if policy not in SAFE_POLICIES:
        raise StoreError(
            f"store {store.location}: maxmemory-policy is {policy}: Redis would evict trade"
            " records and leases silently when full; set it to noeviction (docs/scaling.md)"
        )
