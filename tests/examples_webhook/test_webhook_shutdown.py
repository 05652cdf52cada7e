"""A dead receiver at the end of a real ``hostapp run``: the notifier's ``shutdown``
finishes inside the host's deadline for it (the table's ``timeout_seconds``), says how
many messages it dropped, and leaves no traceback and no unclosed session."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CONFIG = """
[host]
symbols = ["XAUUSD"]
timeframe = "M5"
[plugins]
enabled = ["notify_webhook"]
[plugin.notify_webhook]
url = "http://127.0.0.1:{port}/api/webhooks/1/tok-0b7e"
timeout_seconds = 2
"""


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_shutdown_with_the_receiver_down_keeps_its_deadline(tmp_path: Path, dead_port: int) -> None:
    (tmp_path / "plugins.toml").write_text(CONFIG.format(port=dead_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "2", "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    for text in (done.stderr, log):
        assert "Traceback" not in text and "Unclosed client session" not in text, text[-3000:]
        assert "shutdown failed" not in text and "timed out" not in text, text[-3000:]
    dropped = re.findall(r"notify_webhook: (\d+) messages? not sent at shutdown", log)
    assert dropped and all(int(n) >= 1 for n in dropped), log[-3000:]
    assert took < 60, took
