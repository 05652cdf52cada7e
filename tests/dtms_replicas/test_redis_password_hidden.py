"""A Redis password given in the store URL's query (``?password=``) never shows: not on
the public ``/health``, not in a 503 body, not in the server's log, not in ``dtms export``'s
lines, not in the start-up error. A real redis-server wanting that password, and real
``dtms serve`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.e2e_procs import AUTH, TOKEN, command, free_port, wait_for
from support.redis_server import RedisServer, start_redis, stop_redis
from support.replica_procs import replica_config, replicas

PASSWORD = "pw-7f3a91c2e5"


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server that wants :data:`PASSWORD`."""
    server = start_redis(tmp_path / "redis", password=PASSWORD)
    try:
        yield server
    finally:
        stop_redis(server.process)


def _dtms(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    argv = [*command("dtms"), *args, "--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def test_a_password_in_the_query_is_masked_in_every_answer_and_log(
    locked_redis: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://127.0.0.1:{locked_redis.port}/0?password={PASSWORD}"
    shown = f"redis://127.0.0.1:{locked_redis.port}/0?password=***"
    config = replica_config(tmp_path, tmp_path / "account.db", url)
    with replicas(config, tmp_path, 1, monitor_seconds=0.5) as (replica,):
        exported = _dtms("export", config=config)
        assert exported.returncode == 0, exported.stderr
        assert f"from {shown}" in exported.stderr and PASSWORD not in exported.stderr

        locked_redis.process.send_signal(signal.SIGKILL)  # the outage
        locked_redis.process.wait(10)
        base = replica.server.url

        def unhealthy() -> str | None:
            reply = requests.get(f"{base}/health", timeout=30)  # public: no token
            return reply.text if reply.status_code == 503 and shown in reply.text else None

        health = wait_for(unhealthy, timeout=30, what="/health to name the store")
        assert PASSWORD not in health
        for path in ("/dtms/status", "/dtms/trades", "/metrics"):
            reply = requests.get(f"{base}{path}", headers=AUTH, timeout=30)
            assert reply.status_code == 503, (path, reply.text[:300])
            assert shown in reply.text and PASSWORD not in reply.text, (path, reply.text)
    log = replica.server.log.read_text()
    assert shown in log and PASSWORD not in log

    port = str(free_port())
    failed = _dtms("serve", "--port", port, config=config)  # Redis is still gone
    assert failed.returncode == 2, failed.stderr
    assert f"cannot open store {shown}:" in failed.stderr
    assert PASSWORD not in failed.stdout + failed.stderr
