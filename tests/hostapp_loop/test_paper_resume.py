"""A paper live run started again on its account file resumes the data where the account
got to: replaying from the first bar would settle the account's open positions at prices
of a time before they were opened (a close before its open, at a price of days before)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def _run(cwd: Path, days: int, report: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", report]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_second_run_on_the_account_resumes_where_it_got(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    first = _run(tmp_path, 1, "r1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "resumes" not in first.stderr  # a new account starts at the first bar
    one_day = json.loads((tmp_path / "r1" / "summary.json").read_text())["bars"]

    again = _run(tmp_path, 2, "r2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (
        f"hostapp: plugins.toml [host.paper] account_file {ACCOUNT} was last traded at "
        "2024-01-02 00:00 UTC: the run resumes the data from there (delete the file for a "
        "fresh account)"
    ) in again.stderr
    assert json.loads((tmp_path / "r2" / "summary.json").read_text())["bars"] == one_day
    con = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        backwards = con.execute("SELECT count(*) FROM history WHERE closed_at < opened_at")
        assert backwards.fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM history").fetchone()[0] > 0
    finally:
        con.close()

    past = _run(tmp_path, 1, "r3")
    assert past.returncode == 2
    assert past.stderr.strip().endswith(
        "was last traded at 2024-01-03 00:00 UTC, after the last bar of this run's data: "
        "nothing left to run on it (more --days, other data, or delete the file for a "
        "fresh account)"
    )
    assert "Traceback" not in past.stderr
