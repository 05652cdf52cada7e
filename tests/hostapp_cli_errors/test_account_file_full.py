"""A full disk under the paper account file stops a live run in one line naming the file,
in its log too, with its summary written and exit code 1. SQLite's bare "database or disk
is full" came out of the loop as a traceback, with no summary and nothing in the log.

The disk is full as SQLite sees it: the host runs in a real subprocess whose connections
to the account file have ``PRAGMA max_page_count`` at the file's size, so the first write
that needs a page more fails with SQLite's own ``SQLITE_FULL``, as on a full disk."""

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

#: ``hostapp`` with the account file capped at the size it has when opened
FULL_DISK = """
import sqlite3, sys
_connect = sqlite3.connect
def connect(path, *args, **kwargs):
    db = _connect(path, *args, **kwargs)
    if str(path).endswith("paper-account.sqlite"):
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
    return db
sqlite3.connect = connect
from hostapp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(cwd: Path, days: int, *, full: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", "rep"]
    head = ["-c", FULL_DISK] if full else ["-m", "hostapp.cli"]
    return subprocess.run(
        [sys.executable, *head, *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _deals(cwd: Path) -> tuple[int, str]:
    con = sqlite3.connect(cwd / ACCOUNT)
    try:
        (n,) = con.execute("SELECT count(*) FROM history").fetchone()
        (balance,) = con.execute("SELECT value FROM meta WHERE key = 'balance'").fetchone()
        return n, balance
    finally:
        con.close()


def test_a_full_account_file_stops_the_run_in_one_line_with_its_summary(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    first = _run(tmp_path, 1, full=False)
    assert first.returncode == 0, first.stderr[-2000:]

    proc = _run(tmp_path, 5, full=True)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    said = (
        f"ERROR hostapp: the run stopped: paper account file {ACCOUNT}: the disk is full "
        "(database or disk is full); its last write was undone"
    )
    (line,) = [x for x in proc.stderr.splitlines() if "disk is full" in x]
    assert said in line
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert said in log and "Traceback" not in log
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert any(n.startswith("the run stopped: paper account file") for n in summary["host_notes"])
    assert summary["interrupted"] is False  # no signal stopped it
    assert (tmp_path / "rep" / "trades.csv").is_file()

    # nothing half-written: the account goes on where it was, on a disk with room again
    kept = _deals(tmp_path)
    again = _run(tmp_path, 5, full=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumes the data from there" in again.stderr
    assert _deals(tmp_path)[0] >= kept[0]
