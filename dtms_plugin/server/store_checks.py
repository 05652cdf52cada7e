"""What a replica checks of its Redis before it serves (docs/scaling.md, "Redis's
settings"): one that may evict keys without a TTL would drop trade records and the
registration stream without a word, and every replica would go on as if nobody had
ever registered those trades. Such a Redis is refused: the fix is one setting, and a
warning at start-up scrolls away long before the first eviction."""

from __future__ import annotations

import redis

from ..store import StoreError
from ..store.redis_store import RedisStore

#: the policies that never evict a key without a TTL (DTMS's records have none), and of
#: the keys with one evict those used least (another application's cache) before the
#: leases and heartbeats every replica renews each cycle
SAFE_POLICIES = frozenset({"noeviction", "volatile-lru", "volatile-lfu"})
#: those that evict keys with a TTL with no regard to use: volatile-ttl takes the
#: shortest-lived first (leases and heartbeats, before another application's hour-long
#: cache keys), volatile-random any. A full Redis then takes the leases of live replicas
#: (their trades lost and claimed back and forth, every cycle) and their heartbeats (a
#: replica of another account starting meanwhile found nobody live)
_TTL_BLIND = frozenset({"volatile-ttl", "volatile-random"})


def policy_problem(location: str, policy: str, *, would: bool = False) -> str:
    """What is wrong with ``policy`` (not one of :data:`SAFE_POLICIES`), in one line;
    ``would``: said at start-up, before anything was evicted."""
    if policy in _TTL_BLIND:
        return (
            f"store {location}: maxmemory-policy is {policy}: when full, Redis"
            f" {'would evict' if would else 'evicts'} the leases and heartbeats of live"
            " replicas before other keys with a TTL, silently;"
            " set it to noeviction, or volatile-lru or volatile-lfu (docs/scaling.md)"
        )
    return (
        f"store {location}: maxmemory-policy is {policy}: Redis"
        f" {'would evict' if would else 'evicts'} trade records and leases silently when"
        " full; set it to noeviction (docs/scaling.md)"
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
            " evicts keys without a TTL nor its leases first: noeviction, volatile-lru or"
            " volatile-lfu (docs/scaling.md)",
            store.location,
            why,
        )
        return
    if policy not in SAFE_POLICIES:
        raise StoreError(policy_problem(store.location, policy, would=True))
