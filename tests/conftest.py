"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.redis_server import RedisServer, start_redis, stop_redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, its directory in tmp_path."""
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        stop_redis(server.process)
