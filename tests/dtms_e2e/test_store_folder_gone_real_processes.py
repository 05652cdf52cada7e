"""The store folder of a running engine deleted, in real processes: a real ``dtms serve``
with trades registered over HTTP, and a real ``hostapp run --live`` whose local engine
has nothing open. Each takes its folder back within a cycle, its database and its
``engine.lock`` (a second engine, a process of its own, is refused again), and says so
once on its output. They used to run on, writing into a file no longer in the folder:
the folder stayed gone, a second engine started on it, and what they wrote was lost when
they stopped (docs/dtms.md §8)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests
from support.e2e_procs import (
    AUTH,
    command,
    dtms_server,
    free_port,
    hostapp_run,
    toml_config,
    wait_for,
)

from dtms_plugin.store import StoreError
from dtms_plugin.store.readonly import ReadOnlyStore
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

TAKEN_BACK = "made again there, with everything the store held copied"


def _quotes(account: Path) -> None:
    """Quotes in the account file, as a trading host's broker writes them."""
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        for bar in bars_from_closes([2000.0 + i for i in range(3)]):
            writer.on_bar("XAUUSD", bar)
    finally:
        writer.release()


def _tickets(state: Path) -> set[int]:
    """The records in the store at ``state`` now, read as ``dtms export`` reads them;
    none while it is not there."""
    if not (state / "cache.db").exists():
        return set()
    try:
        store = ReadOnlyStore(state)
    except StoreError:
        return set()
    try:
        return set(store.records())
    finally:
        store.close()


def _second_serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command("dtms"), "serve", "--config", str(config), "--port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _taken_back(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if TAKEN_BACK in line]


def test_dtms_serve_takes_its_deleted_folder_back_with_every_registration(
    tmp_path: Path,
) -> None:
    account, state = tmp_path / "account.db", tmp_path / "state"
    _quotes(account)
    config = toml_config(
        tmp_path / "server.toml", symbols=["XAUUSD"], account_file=account, state_dir=state
    )
    log = tmp_path / "server.log"
    with dtms_server(config, free_port(), monitor_seconds=0.2, log=log) as server:

        def register(ticket: int) -> None:
            order = {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
                     "volume": 0.1}  # fmt: skip
            reply = requests.post(
                f"{server.url}/dtms/trade/enable", json=order, headers=AUTH, timeout=30
            )
            assert reply.status_code == 201, reply.text

        register(1002)
        wait_for(lambda: _tickets(state) == {1002}, timeout=30, what="the first record")
        shutil.rmtree(state)
        register(1003)  # its write takes the folder back, or the next cycle's does
        wait_for(lambda: _tickets(state) == {1002, 1003}, timeout=30, what="the folder back")
        second = _second_serve(config)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"another DTMS engine (pid {server.proc.pid})" in second.stderr
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
    (line,) = _taken_back(log)
    assert "WARNING" in line and f"store {state}: its folder was deleted" in line, line


def test_a_live_hosts_quiet_engine_claims_its_deleted_folder_again(tmp_path: Path) -> None:
    """Nothing open, nothing written: the engine's cycle checks its folder all the same."""
    account, state = tmp_path / "account.db", tmp_path / "state"
    host = toml_config(
        tmp_path / "host.toml", symbols=["XAUUSD"], account_file=account, state_dir=state,
        host={"cycle_seconds": 1.0},
    )  # fmt: skip
    server = toml_config(
        tmp_path / "server.toml", symbols=["XAUUSD"], account_file=tmp_path / "other.db",
        state_dir=state,
    )  # fmt: skip
    log = tmp_path / "host.out"
    with hostapp_run(host, tmp_path / "report", log=log) as running:
        wait_for(lambda: (state / "engine.lock").exists(), timeout=120, what="the host's engine")
        shutil.rmtree(state)
        wait_for(
            lambda: (state / "cache.db").exists() or running.poll() is not None,
            timeout=60, what="the folder back",
        )  # fmt: skip
        assert running.poll() is None, log.read_text()[-3000:]
        second = _second_serve(server)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"another DTMS engine (pid {running.pid})" in second.stderr
    (line,) = _taken_back(log)
    assert f"store {state}: its folder was deleted" in line, line
