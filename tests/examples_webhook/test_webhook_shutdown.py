"""The notifier at the end of a real ``hostapp run``. A dead receiver: its ``shutdown``
finishes inside the host's deadline for it (the table's ``timeout_seconds``), says how
many messages it dropped, and leaves no traceback and no unclosed session. A live one:
the run's summary and the final log line account for every message."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

CONFIG = """
[host]
symbols = ["XAUUSD"]
timeframe = "M5"
[plugins]
enabled = ["notify_webhook"]
[plugin.notify_webhook]
url = "http://127.0.0.1:{port}/api/webhooks/1/tok-0b7e"
timeout_seconds = 2
simulated = true
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


async def test_the_run_summary_accounts_for_every_message(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """The report comes before shutdown's drain (hookspecs/spec.py): it says how many were
    still queued, so every message is in one of its counts, and shutdown logs the final
    ones, which match what the receiver got."""
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/api/webhooks/1/tok-0b7e", receive)
    server = await aiohttp_server(app)
    config = CONFIG.format(port=server.port).replace("timeout_seconds = 2", "timeout_seconds = 5")
    (tmp_path / "plugins.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hostapp.cli", "run", "--days", "10", "--no-compare",
        "--report", "rep", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads((tmp_path / "rep" / "summary.json").read_text())
    counts = report["plugin_reports"]["notify_webhook"]
    assert counts["failed"] == counts["dropped"] == 0 and len(got) > 20
    assert counts["sent"] + counts["queued"] == len(got), counts
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    final = re.findall(r"notify_webhook: (\d+) messages sent, (\d+) failed, (\d+) dropped", log)
    assert final == [(str(len(got)), "0", "0")], log[-2000:]
