"""``dtms serve`` as a real process: config errors exit 2 with one line; a server beside a
paper account file comes up healthy, registers and answers, and stops cleanly on SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from support.ports import free_port

from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.config import load_config
from hostapp.data import config_series

TOKEN = "cli-test-token"


def _dtms() -> list[str]:
    script = Path(sys.executable).with_name("dtms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dtms_plugin.cli"]


def _write_config(tmp_path: Path, *, account_file: bool = True) -> Path:
    paper = (
        f'account_file = "{tmp_path / "account.db"}"\n' if account_file else 'account_file = ""\n'
    )
    path = tmp_path / "plugins.toml"
    path.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f"[host.paper]\n{paper}"
        f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    return path


def test_a_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = _write_config(tmp_path, account_file=False)
    done = subprocess.run(
        [*_dtms(), "serve", "--config", str(config), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "[host.paper]: key 'account_file' is required" in lines[0]


def test_an_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[plugin.dtms]\nfresh_secs = 3\n")
    done = subprocess.run(
        [*_dtms(), "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "bad.toml [plugin.dtms]: unknown key 'fresh_secs'" in done.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    config = _write_config(tmp_path)
    port = free_port()
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [*_dtms(), "serve", "--config", str(config), "--port", str(port), "--days", "2",
         "--monitor-seconds", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.1)
        yield url, proc, config
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_registers_answers_and_stops_on_sigint(
    server: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, proc, config_path = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # the host's side: the same account file, driven bar by bar
    host_config = load_config(config_path)
    series, _ = config_series(host_config, days=2, seed=0)
    host = PaperBroker(
        settings=PaperSettings(account_file=str(Path(config_path).parent / "account.db"))
    )
    try:
        for bar in series["XAUUSD"][:400]:
            host.on_bar("XAUUSD", bar)
        opened = host.open(OrderRequest("XAUUSD", "buy", 1.0))
        assert opened.ok
        ticket = opened.new_ticket
        entry = host.position(ticket).entry_price  # type: ignore[arg-type,union-attr]
    finally:
        host.release()

    assert requests.get(f"{url}/dtms/status", timeout=5).status_code == 401
    body = {"ticket": str(ticket), "symbol": "XAUUSD", "direction": "BUY", "entry": entry,
            "volume": 1.0, "stop_loss": entry - 10}  # fmt: skip
    first = requests.post(f"{url}/dtms/trade/enable", json=body, headers=auth, timeout=10)
    assert first.status_code == 201, first.text  # the reason, should a 503 come back
    again = requests.post(f"{url}/dtms/trade/enable", json=body, headers=auth, timeout=10)
    assert again.status_code == 200 and again.json()["already_registered"] is True

    view = requests.get(f"{url}/dtms/trade/{ticket}", headers=auth, timeout=5).json()
    assert view["state"] == "HEALTHY"
    assert (
        view["trade_info"]["opened_at"]
        == (series["XAUUSD"][399].time + timedelta(minutes=5)).isoformat()
    )  # the server's clock is the shared account's quote time
    deadline = time.monotonic() + 30
    while True:  # the monitor runs every 0.2 s and sees the position in the shared file
        status = requests.get(f"{url}/dtms/status", headers=auth, timeout=5).json()
        if status["monitor"]["cycles"] >= 3:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["trades"] == 1
    assert status["states"]["HEALTHY"] == 1  # the position exists: not CLOSED
    assert status["engine"]["engine_time"] == view["trade_info"]["opened_at"]

    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "dtms: stopping" in stderr
    assert "Traceback" not in stderr


def test_monitor_period_comes_from_the_config_unless_the_flag_says_otherwise(
    tmp_path: Path,
) -> None:
    from dtms_plugin.serving import server_settings
    from dtms_plugin.settings import load_settings
    from hookspecs import ServeOptions
    from hostapp.testing import make_host

    config = _write_config(tmp_path)
    config.write_text(config.read_text() + "monitor_seconds = 2.5\n")
    dtms = load_settings(load_config(config).table_for("dtms"), "[plugin.dtms]")

    def settings(options: ServeOptions) -> Any:
        host = make_host(None, None, None, serve_options=options)  # type: ignore[arg-type]
        return server_settings(host, dtms)

    assert settings(ServeOptions()).monitor_seconds == 2.5
    assert settings(ServeOptions(monitor_seconds=0.5)).monitor_seconds == 0.5


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0"])
def test_a_monitor_interval_that_is_not_a_finite_positive_number_is_refused(
    tmp_path: Path, value: str
) -> None:
    config = _write_config(tmp_path)
    done = subprocess.run(
        [*_dtms(), "serve", "--config", str(config), "--port", str(free_port()),
         f"--monitor-seconds={value}"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--monitor-seconds: must be a finite number > 0" in lines[0]
    assert "Traceback" not in done.stderr


def test_served_through_the_host_the_api_keeps_its_own_limits(
    server: tuple[str, subprocess.Popen[str], Path],
) -> None:
    """``dtms serve`` mounts the API in the host's web app, whose own limits are
    aiohttp's: the body limit is still the API's 64 KiB (a JSON 413), and a request line
    listing thousands of tickets still fits."""
    url, proc, _ = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = {"ticket": 1, "symbol": "XAUUSD", "direction": "buy", "entry": 1.0, "volume": 1.0,
           "comment": "x" * 70_000}  # fmt: skip
    resp = requests.post(f"{url}/dtms/trade/enable", json=big, headers=auth, timeout=10)
    assert resp.status_code == 413 and resp.json()["error"] == "request body too large"
    tickets = ",".join(str(100_000_000 + i) for i in range(5000))  # 50 KB of query
    resp = requests.get(f"{url}/dtms/trades?tickets={tickets}", headers=auth, timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    assert len(resp.json()["unknown"]) == 5000
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr
