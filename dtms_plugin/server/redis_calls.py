"""A replica's own Redis calls (leases, claims, the registration stream) fail as the
store's reads and writes do: a :class:`~dtms_plugin.store.StoreError` naming the store
and what was asked, which a request answers with a 503 and a cycle with one line
(docs/scaling.md, "Failures"), never a raw client error (a 500 and a traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from ..store import StoreError
from ..store.redis_hints import redis_hint
from ..store.redis_store import RedisStore


@contextmanager
def store_call(store: RedisStore, what: str) -> Iterator[None]:
    """Map a Redis failure inside the block to a :class:`StoreError` saying ``what``."""
    try:
        yield
    except redis.RedisError as exc:
        hint = redis_hint(exc, store.location)
        raise StoreError(f"store {store.location}: {what} failed: {exc}{hint}") from None
