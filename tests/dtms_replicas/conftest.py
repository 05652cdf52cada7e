"""Stores on the test's redis-server, for the tests of replicas in one process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.redis_server import RedisServer

from dtms_plugin.store.redis_store import RedisStore


@pytest.fixture
def stores(redis_server: RedisServer) -> Iterator[list[RedisStore]]:
    opened = [RedisStore(redis_server.url(), timeout=1.0) for _ in range(3)]
    yield opened
    for store in opened:
        store.close()
