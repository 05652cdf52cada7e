"""``hostapp run --live`` on a paper account file whose starting balance is not
``[host.paper] balance``: the file keeps its own (risk sizing and the daily-loss rail
work from that money), and the start says so in one line, on the terminal and in the
log, with how to start afresh."""

from __future__ import annotations

from pathlib import Path

from support.account_folder import ACCOUNT, shipped_config
from support.account_folder import run_live as _run


def test_a_changed_balance_is_said_at_start_and_in_the_log(tmp_path: Path) -> None:
    shipped_config(tmp_path)
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "starting balance" not in first.stderr
    shipped_config(tmp_path, balance=50000)
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
