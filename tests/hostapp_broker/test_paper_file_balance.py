"""``hostapp run --live`` on a paper account file whose starting balance is not
``[host.paper] balance``: the file keeps its own (risk sizing and the daily-loss rail
work from that money), and the start says so in one line, on the terminal and in the
log, with how to start afresh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def _config(folder: Path, *, balance: float | None = None, state_dir: str | None = None) -> None:
    text = (ROOT / "plugins.toml").read_text()
    if balance is not None:
        text = text.replace("# balance = 10000 ", f"balance = {balance}", 1)
        assert f"balance = {balance}" in text
    if state_dir is not None:
        text = text.replace('state_dir = ".hostapp/dtms"', f'state_dir = "{state_dir}"', 1)
        assert f'state_dir = "{state_dir}"' in text
    (folder / "plugins.toml").write_text(text)


def _run(cwd: Path, days: int = 1) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days)]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_changed_balance_is_said_at_start_and_in_the_log(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "starting balance" not in first.stderr
    _config(tmp_path, balance=50000)
    again = _run(tmp_path, days=2)
    assert again.returncode == 0, again.stderr[-2000:]
    line = (
        f"paper account file {ACCOUNT} keeps its own starting balance 10,000.00, not "
        "[host.paper] balance 50,000.00 (which makes a new account only): to start afresh "
        "with it, name a new account_file (or move this one aside)"
    )
    assert again.stderr.count(f"hostapp: {line}\n") == 1, again.stderr[-3000:]
    log = (tmp_path / ".hostapp" / "live" / "hostapp.log").read_text()
    assert sum(line in row for row in log.splitlines()) == 1
