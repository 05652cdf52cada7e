"""A real ``redis-server`` for the tests: one process per test on a free loopback port,
its working directory in the test's tmp_path, stopped at the end (never fakeredis).

When the binary is missing (``make test`` installs it where it can, see
scripts/ensure_redis.sh) the test is skipped, except under ``CI=true``, where it fails:
a CI run must never pass without the Redis tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"


def redis_binary() -> str:
    """The path of ``redis-server``; skip (fail under CI=true) when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        message = "redis-server is not installed (make test installs it: root + apt-get)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; a CI run must run the Redis tests", pytrace=False)
        pytest.skip(message)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    """Is a redis-server answering on ``port`` (one that wants a password says so)?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def start_redis(
    directory: Path, attempts: int = 5, *, password: str = "", port: int | None = None
) -> RedisServer:
    """Start ``redis-server`` on a free loopback port without persistence (wanting
    ``password`` when one is given); a port taken between choosing and binding it is
    retried on another. ``port``: that one (a Redis restarted empty where it was)."""
    binary = redis_binary()
    directory.mkdir(parents=True, exist_ok=True)
    chosen = port
    for _ in range(attempts):
        port = chosen or _free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
        args += ["--save", "", "--appendonly", "no", "--logfile", str(directory / "redis.log")]
        args += ["--requirepass", password] if password else []
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and process.poll() is None:
            if _ping(port):
                return RedisServer("127.0.0.1", port, directory, process)
            time.sleep(0.02)
        stop_redis(process)
    log = directory / "redis.log"
    tail = log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"
    raise RuntimeError(f"redis-server did not start in {directory}: {tail}")


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)
