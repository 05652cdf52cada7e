"""``hostapp serve`` and ``dtms serve`` on an event loop that takes no signal handlers, as
every Windows loop is (``add_signal_handler`` raises NotImplementedError: tests/support/
windows.py): they did not start at all. Now they start, serve, and stop on Ctrl-C
(SIGINT) as on POSIX: exit 0, said once, no traceback."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support.ports import free_port
from support.windows import RUN_AS_ON_WINDOWS, WINDOWS_ADD, WINDOWS_REMOVE, env

from hostapp.serve import _stop_on_signals


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f'[host.paper]\naccount_file = "{tmp_path / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    return path


@pytest.mark.parametrize(
    ("script", "stop", "said"),
    [
        ("hostapp", signal.SIGINT, "hostapp: stopping"),
        ("dtms", signal.SIGINT, "dtms: stopping"),
        ("dtms", signal.SIGTERM, "dtms: stopping"),
    ],
)
def test_serve_on_a_loop_without_signal_handlers_starts_serves_and_stops(
    tmp_path: Path, script: str, stop: signal.Signals, said: str
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AS_ON_WINDOWS, script, "serve", "--config",
         str(_config(tmp_path)), "--port", str(port), "--days", "2", "--monitor-seconds", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env(DTMS_TOKEN="windows-token"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.1)
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert stderr.count(said) == 1, stderr[-3000:]


async def test_without_loop_handlers_a_signal_sets_stop_and_the_handlers_go_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process: the running loop's methods as Windows' are; Python's handlers set the
    event through the loop, and are replaced by the ones before them at the end."""
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "add_signal_handler", WINDOWS_ADD.__get__(loop))
    monkeypatch.setattr(loop, "remove_signal_handler", WINDOWS_REMOVE.__get__(loop))
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in (signal.SIGINT, signal.SIGTERM):
        stop = asyncio.Event()
        undo = _stop_on_signals(loop, stop)
        try:
            signal.raise_signal(sig)
            await asyncio.wait_for(stop.wait(), timeout=10)
        finally:
            undo()
        assert {s: signal.getsignal(s) for s in before} == before
