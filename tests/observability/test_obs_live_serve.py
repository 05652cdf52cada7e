"""``hostapp run --live --serve``, in a real subprocess: the dashboard page and the DTMS
API over the host's own store (local strategy), the client metrics on ``/metrics``
(remote strategy), a clean stop on SIGINT, and the usage errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hookspecs import DefensiveState

TOKEN = "live-serve-t0ken"
CONFIG = """
[host]
symbols = ["XAUUSD", "EURUSD"]
timeframe = "M5"
cycle_seconds = 0.005
"""
DEADLINE = 60.0


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("HOSTAPP_LOAD_PLUGINS", "HOSTAPP_DISABLE_PLUGINS", "DTMS_TOKEN"):
        env.pop(name, None)
    env.update(extra)
    return env


class Host:
    """A ``hostapp run`` process; its stderr goes to a file, read while it runs."""

    def __init__(self, tmp_path: Path, config: str, *args: str, **env: str) -> None:
        (tmp_path / "plugins.toml").write_text(config)
        self.err_path = tmp_path / "stderr.txt"
        self._err = self.err_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hostapp.cli", "run", "--report", "rep", *args],
            cwd=tmp_path,
            env=_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            text=True,
        )

    def stderr(self) -> str:
        return self.err_path.read_text()

    def dashboard_url(self) -> str:
        found = self.wait_for(
            lambda: re.search(r"serving the routes of .* at (http://\S+/): ", self.stderr())
        )
        return str(found.group(1))

    def wait_for(self, probe: Callable[[], Any]) -> Any:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            got = probe()
            if got:
                return got
            if self.proc.poll() is not None:
                pytest.fail(f"hostapp exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        pytest.fail(f"gave up waiting; stderr: {self.stderr()}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


@pytest.fixture
def hosts() -> Iterator[Callable[..., Host]]:
    started: list[Host] = []

    def start(tmp_path: Path, config: str, *args: str, **env: str) -> Host:
        host = Host(tmp_path, config, *args, **env)
        started.append(host)
        return host

    yield start
    for host in started:
        host.close()


def get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers.get_content_type(), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get_content_type(), exc.read()


def _trades(url: str) -> dict[str, Any]:
    status, kind, body = get(url + "dtms/trades", TOKEN)
    assert (status, kind) == (200, "application/json")
    trades: dict[str, Any] = json.loads(body)["trades"]
    return trades


def test_dashboard_and_trades_from_the_hosts_store_then_sigint(
    tmp_path: Path, hosts: Callable[..., Host]
) -> None:
    host = hosts(tmp_path, CONFIG, "--live", "--serve", "--port", "0", DTMS_TOKEN=TOKEN)
    url = host.dashboard_url()
    assert url.startswith("http://127.0.0.1:")

    status, kind, page = get(url)  # the page is public
    assert (status, kind) == (200, "text/html")
    assert b"dashboard.js" in page
    assert get(url + "dtms/trades")[0] == 401  # the data wants the token

    trades = host.wait_for(lambda: _trades(url))  # the example strategy trades soon
    ticket, view = next(iter(trades.items()))
    assert view["ticket"] == int(ticket)
    assert view["state"] in {s.value for s in DefensiveState}
    assert view["trade_info"]["symbol"] in ("XAUUSD", "EURUSD")
    status_code, _, status_body = get(url + "dtms/status", TOKEN)
    assert status_code == 200 and json.loads(status_body)["trades"] >= 1
    assert json.loads(status_body)["dtms_status"]["system_active"] is True  # original names
    _, _, history = get(url + "dtms/actions", TOKEN)
    assert json.loads(history)["total_actions"] == len(json.loads(history)["action_history"])
    metrics = get(url + "metrics", TOKEN)
    assert metrics[0] == 200 and b"dtms_trades{" in metrics[2]

    assert host.interrupt() == 130
    err = host.stderr()
    assert "SIGINT" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True
    with pytest.raises(urllib.error.URLError):
        get(url)  # the server went with the run


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_remote_strategy_serves_the_client_metrics(
    tmp_path: Path, hosts: Callable[..., Host], dead_port: int
) -> None:
    config = CONFIG + (
        f'[plugin.dtms]\nstrategy = "remote"\napi_url = "http://127.0.0.1:{dead_port}"\n'
    )
    host = hosts(tmp_path, config, "--live", "--serve", "--port", "0")
    url = host.dashboard_url()

    def depth() -> float:
        status, kind, body = get(url + "metrics")  # no token configured: open
        assert (status, kind) == (200, "text/plain")
        text = body.decode()
        assert "dtms_client_registration_retries_total " in text
        found = re.search(r"^dtms_client_outbox_depth (\S+)$", text, re.MULTILINE)
        assert found, text
        return float(found.group(1))

    assert host.wait_for(depth) >= 1  # registrations queue while the server is down

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as answer:  # the trades are on the server
        urllib.request.build_opener(NoRedirect).open(url, timeout=10)
    with answer.value as redirect:
        assert redirect.code == 302
        assert redirect.headers["Location"] == f"http://127.0.0.1:{dead_port}/"
    assert host.interrupt() == 130
    assert "Traceback" not in host.stderr()


def test_serve_wants_live(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(CONFIG)
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--serve", "--days", "1"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--serve" in proc.stderr and "--live" in proc.stderr
    assert not (tmp_path / ".hostapp" / "report" / "summary.json").exists()


def test_busy_port_is_a_one_line_error(tmp_path: Path, hosts: Callable[..., Host]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        host = hosts(tmp_path, CONFIG, "--live", "--serve", "--port", str(port))
        code = host.proc.wait(timeout=DEADLINE)
    assert code == 2
    err = host.stderr()
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_the_api_routes_answer_beside_the_dashboard(
    tmp_path: Path, hosts: Callable[..., Host]
) -> None:
    """The routes DTMS contributes to the host's app include ``/health`` (public) and the
    token-guarded ``/openapi.json`` and ``/dtms/status``, as on ``dtms serve``."""
    host = hosts(tmp_path, CONFIG, "--live", "--serve", "--port", "0", DTMS_TOKEN=TOKEN)
    url = host.dashboard_url()
    status, kind, body = get(url + "health")
    assert (status, kind) == (200, "application/json")
    assert json.loads(body)["status"] == "healthy"
    assert get(url + "openapi.json")[0] == 401
    status, _, body = get(url + "openapi.json", TOKEN)
    paths = json.loads(body)["paths"]  # what is served here: the reads, a trade's too
    assert status == 200 and "/dtms/trade/{ticket}" in paths
    assert "/dtms/trade/enable" not in paths
    status, _, body = get(url + "dtms/status", TOKEN)
    assert status == 200 and set(json.loads(body)["states"]) == {s.value for s in DefensiveState}
    assert host.interrupt() == 130


def test_without_a_token_only_the_loopback_names_are_answered(
    tmp_path: Path, hosts: Callable[..., Host]
) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is
    same-origin to the browser; only the ``Host`` it asks by tells it apart (403), as on
    ``dtms serve``."""
    host = hosts(tmp_path, CONFIG, "--live", "--serve", "--port", "0")
    url = host.dashboard_url()
    port = url.rstrip("/").rsplit(":", 1)[1]
    for path in ("", "dtms/trades", "dtms/status", "dtms/actions", "metrics", "health"):
        request = urllib.request.Request(url + path, headers={"Host": f"evil.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        with refused.value as answer:
            assert answer.code == 403, (path, answer.code)
            assert json.loads(answer.read())["error"] == "host not allowed"
        for name in ("127.0.0.1", "localhost"):
            asked = urllib.request.Request(url + path, headers={"Host": f"{name}:{port}"})
            with urllib.request.urlopen(asked, timeout=10) as ok:
                assert ok.status == 200, (path, name)
                if not path:  # the page, as on dtms serve: never in another site's frame
                    assert ok.headers["X-Frame-Options"] == "DENY"
    assert host.interrupt() == 130
