"""Real processes for the end-to-end tests: ``dtms serve`` and ``hostapp run --live``.

Every process started here is stopped by the context manager that started it (SIGINT,
then a kill if it does not stop in time), so a failing test leaves nothing running. All
of it is loopback only: the server binds 127.0.0.1 on a port the OS just handed out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from hookspecs import Bar, Quote, Trade
from support.ports import free_port as free_port  # the e2e tests take it from here

TOKEN = "e2e-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def command(name: str) -> list[str]:
    """The console script beside this interpreter (the venv's), or ``python -m``."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    module = {"dtms": "dtms_plugin.cli", "hostapp": "hostapp.cli"}[name]
    return [sys.executable, "-m", module]


def dtms_verb(
    *args: str, url: str | None, token: str | None = TOKEN, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dtms ARGS --url URL`` (no ``--url`` when None) with the token in ``$DTMS_TOKEN``,
    160 columns unless ``env`` says otherwise, and none of the caller's DTMS variables."""
    base = {k: v for k, v in os.environ.items() if k not in ("DTMS_TOKEN", "DTMS_URL")}
    base["COLUMNS"] = "160"
    if token is not None:
        base["DTMS_TOKEN"] = token
    argv = [*command("dtms"), *args, *(["--url", url] if url is not None else [])]
    return subprocess.run(
        argv, capture_output=True, text=True, env={**base, **(env or {})}, timeout=60
    )


def dtms_export(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dtms export ARGS`` run in ``folder`` (its plugins.toml), without the caller's
    ``HOSTAPP_*``/``DTMS_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    return subprocess.run(
        [*command("dtms"), "export", *args], cwd=folder, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


def into_closed_pipe(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], *, buffered: bool
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with its stdout a pipe whose reader is gone before the first byte
    (``cmd | head -c 0``), stderr captured; ``buffered=False`` as under
    ``PYTHONUNBUFFERED=1``, so the first write fails rather than the flush at exit."""
    env = dict(env)
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            list(argv), cwd=cwd, env=env, stdout=write, stderr=subprocess.PIPE, text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)


def wait_for(probe: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``probe`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def toml_config(
    path: Path,
    *,
    symbols: Sequence[str],
    account_file: Path,
    state_dir: Path,
    dtms: Mapping[str, Any] | None = None,
    host: Mapping[str, Any] | None = None,
    plugins: Mapping[str, Mapping[str, Any]] | None = None,
    data: Mapping[str, Path] | None = None,
) -> Path:
    """A plugins.toml with a paper broker on ``account_file``; values are TOML-quoted."""
    lines = ["[host]", 'broker = "paper"', f"symbols = {toml_value(list(symbols))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (host or {}).items()]
    if data:
        lines += ["[host.data]", *(f"{s} = {toml_value(str(p))}" for s, p in data.items())]
    lines += ["[host.paper]", f"account_file = {toml_value(str(account_file))}"]
    lines += ["[plugin.dtms]", f"state_dir = {toml_value(str(state_dir))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (dtms or {}).items()]
    for name, table in (plugins or {}).items():
        lines += [f"[plugin.{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def toml_value(value: Any) -> str:
    """``value`` (text, a number, a boolean or a list of them) as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_csv(path: Path, bars: Sequence[Bar]) -> Path:
    """The generic CSV format the host loads: ``time,open,high,low,close,volume,spread``."""
    rows = ["time,open,high,low,close,volume,spread"]
    rows += [
        f"{b.time:%Y-%m-%d %H:%M:%S},{b.open},{b.high},{b.low},{b.close},{b.volume},{b.spread}"
        for b in bars
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def account_position(
    account_file: Path, ticket: int, symbol: str
) -> tuple[Trade | None, Quote | None]:
    """Position ``ticket`` and the ``symbol`` quote as the shared paper account holds them
    now: what a third process opening the account file sees."""
    from hostapp.brokers.paper import PaperBroker
    from hostapp.brokers.paper_rules import PaperSettings

    broker = PaperBroker(settings=PaperSettings(account_file=str(account_file)))
    try:
        return broker.position(ticket), broker.quote(symbol)
    finally:
        broker.release()


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    log: Path

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers=AUTH, params=params, timeout=30)

    def json(self, path: str, **params: Any) -> Any:
        reply = self.get(path, **params)
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        return reply.json()


def _healthy(url: str, proc: subprocess.Popen[str], log: Path) -> bool:
    assert proc.poll() is None, f"dtms serve exited {proc.returncode}: {log.read_text()[-3000:]}"
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@contextlib.contextmanager
def dtms_server(
    config: Path, port: int, *, monitor_seconds: float, log: Path, timeout: float = 60.0
) -> Iterator[Server]:
    """``dtms serve`` on 127.0.0.1:``port``, healthy when yielded; stopped on exit."""
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    argv = [*command("dtms"), "serve", "--config", str(config), "--port", str(port),
            "--monitor-seconds", str(monitor_seconds)]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url, proc, log), timeout=timeout, what="dtms serve /health")
        yield Server(url, proc, log)
    finally:
        stop(proc)


@contextlib.contextmanager
def hostapp_run(config: Path, report: Path, *, log: Path) -> Iterator[subprocess.Popen[str]]:
    """``hostapp run --live`` (a paced paper run on the shared account); stopped on exit."""
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    argv = [*command("hostapp"), "run", "--live", "--config", str(config), "--report", str(report)]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str], timeout: float = 30.0) -> int:
    """SIGINT (an orderly stop), then SIGKILL if it does not exit within ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode
