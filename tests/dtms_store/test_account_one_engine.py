"""One DTMS engine per account, whatever its state folder (dtms_plugin/account_claim.py):
a ``dtms serve`` on one folder and a second engine (another ``dtms serve``, a host's local
engine) on another folder, both on one paper account file, would each adopt the account's
positions and act on every trade twice. The second is refused in one line naming the
first and both folders; a killed engine leaves no stale lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.e2e_procs import TOKEN, command, dtms_server, toml_config
from support.ports import free_port


def _refusal(line: str, account: Path, pid: int, first: Path, second: Path) -> None:
    assert ": account paper " in line, line
    assert f"another DTMS engine (pid {pid}, state_dir {first.resolve()}) defends" in line
    assert f"this engine's state_dir is {second.resolve()}, and two engines" in line
    assert 'strategy = "remote"' in line
    assert (account.parent / f"{account.name}.dtms-engine.lock").exists()


def test_a_second_dtms_serve_on_the_account_from_another_folder_is_refused(
    tmp_path: Path,
) -> None:
    account = tmp_path / "account.db"
    config = toml_config(
        tmp_path / "a.toml", symbols=["XAUUSD"], account_file=account, state_dir=tmp_path / "a"
    )
    other = toml_config(
        tmp_path / "b.toml", symbols=["XAUUSD"], account_file=account, state_dir=tmp_path / "b"
    )
    with dtms_server(config, free_port(), monitor_seconds=0.5, log=tmp_path / "a.log") as first:
        second = subprocess.run(
            [*command("dtms"), "serve", "--config", str(other), "--port", str(free_port())],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "DTMS_TOKEN": TOKEN},
        )  # fmt: skip
        assert second.returncode == 2, second.stderr[-2000:]
        assert "Traceback" not in second.stderr
        (line,) = second.stderr.strip().splitlines()[-1:]
        assert line.startswith("dtms: cannot start: account paper "), line
        _refusal(line, account, first.proc.pid, tmp_path / "a", tmp_path / "b")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
    # the lock went with the killed process: the other folder's engine starts at once
    with dtms_server(other, free_port(), monitor_seconds=0.5, log=tmp_path / "b.log") as again:
        assert again.proc.poll() is None


def test_a_local_engine_on_the_account_of_a_dtms_serve_does_not_start(tmp_path: Path) -> None:
    """The probe's setup: ``dtms serve`` on .hostapp/dtms, a host with strategy = "local"
    and state_dir = ".hostapp/dtms_other" on the same account file."""
    account = tmp_path / "account.sqlite"
    served = toml_config(
        tmp_path / "serve.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / ".hostapp" / "dtms",
    )  # fmt: skip
    host = toml_config(
        tmp_path / "plugins.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / ".hostapp" / "dtms_other", dtms={"strategy": "local"},
        host={"cycle_seconds": 3600},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    with dtms_server(served, free_port(), monitor_seconds=0.5, log=tmp_path / "s.log") as server:
        run = subprocess.run(
            [sys.executable, "-m", "hostapp.cli", "run", "--live", "--config", str(host),
             "--speed", "100000", "--days", "1"],
            cwd=tmp_path, env={**env, "DTMS_TOKEN": TOKEN}, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"hostapp: {host} [plugin.dtms]: cannot start: StoreError: account ")
    _refusal(
        line, account, server.proc.pid, tmp_path / ".hostapp" / "dtms",
        tmp_path / ".hostapp" / "dtms_other",
    )  # fmt: skip


def test_a_metatrader_account_is_locked_by_server_and_login_in_the_users_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostapp.brokers.mt5_convert import account_from

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    raw = {"login": 5012, "balance": 1.0, "equity": 1.0, "margin_mode": 2, "currency": "USD"}
    info = account_from({**raw, "server": "Broker-Demo 2"}, hedging_mode=2)
    assert info.identity == "Broker-Demo 2 5012"
    assert info.engine_lock == str(
        tmp_path / "hostapp" / "locks" / "mt5-Broker-Demo_2-5012.dtms-engine.lock"
    )
