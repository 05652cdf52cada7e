"""The redis-server fixture: a real server on loopback, stopped afterwards; and a missing
binary skips the Redis tests locally but fails them under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis
from support.redis_server import RedisServer, start_redis, stop_redis

REPO = Path(__file__).resolve().parents[2]


def test_fixture_serves_on_loopback_from_tmp_path(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_server.url(3))
    try:
        assert client.ping()
        assert client.config_get("dir")["dir"] == str(tmp_path / "redis")
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    finally:
        client.close()


def test_server_is_stopped(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "r")
    stop_redis(server.process)
    assert server.process.poll() is not None


def _run_without_redis(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_needs_redis.py"
    test.write_text("def test_it(redis_server):\n    pass\n")
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # python, but no redis-server
    env["PYTHONPATH"] = str(REPO / "tests")
    if ci is not None:
        env["CI"] = ci
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_missing_redis_skips_locally(tmp_path: Path) -> None:
    done = _run_without_redis(tmp_path, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout


def test_missing_redis_fails_under_ci(tmp_path: Path) -> None:
    done = _run_without_redis(tmp_path, "true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a CI run must run the Redis tests" in done.stdout
