"""``dtms serve`` on a paper account file that keeps another starting balance than
``[host.paper] balance``, and holds the damage of an older version's run: each is said in
one line as it starts, and the file is served as it is."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from support.account_folder import ACCOUNT, account_file, env_without, shipped_config
from support.e2e_procs import command

from hostapp.brokers.paper_account import AccountMeta


def test_a_kept_balance_and_an_older_versions_damage_are_said_at_start(tmp_path: Path) -> None:
    shipped_config(tmp_path, balance=50000)
    account = account_file(tmp_path, AccountMeta(1234567, 10_000.0, "hedging", "USD"))
    db = sqlite3.connect(account)  # an older version's close before its open
    with db:
        db.execute(
            "INSERT INTO history (ticket, symbol, direction, volume, entry_price, stop_loss, "
            "take_profit, opened_at, magic, comment, profit, close_price, closed_at, reason) "
            "VALUES (50, 'EURUSD', 'buy', 0.5, 1.07303, NULL, 1.07943, 1704375000, 0, '', "
            "323.19, 1.085, 1704067500, 'take_profit')"
        )
    db.close()
    proc = subprocess.Popen(
        [*command("dtms"), "serve", "--port", "0", "--days", "2"],
        cwd=tmp_path, env=env_without("DTMS_TOKEN"), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not any("dtms: serving on" in line for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
            seen.append(proc.stderr.readline())
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    kept = [line for line in seen if "keeps its own starting balance 10,000.00" in line]
    assert len(kept) == 1, "".join(seen)
    assert f"paper account file {ACCOUNT} keeps" in kept[0] and "50,000.00" in kept[0]
    assert "name a new account_file" in kept[0]
    damaged = [line for line in seen if "dated before they were opened" in line]
    assert len(damaged) == 1, "".join(seen)
    assert "ticket 50, opened 2024-01-04 13:30, closed 2024-01-01 00:05" in damaged[0]
