"""An account file an older hostapp ran on: that version did not know the newer ``meta``
rows (the run clock, the data it was traded on), replayed its data from the start over
the account and booked closes dated before their opens, money that never was. The
current version opening such a file says so in one line naming the file and what it
found, and keeps the file as it is (README: going back to an older version)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_checks import damage
from hostapp.brokers.paper_account_file import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's
META = AccountMeta(1234567, 10_000.0, "hedging", "USD")


def _t(day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC).timestamp()


def _deal(db: sqlite3.Connection, ticket: int, opened: float, closed: float) -> None:
    """A closing deal as any version writes it, straight into the table."""
    db.execute(
        "INSERT INTO history (ticket, symbol, direction, volume, entry_price, stop_loss, "
        "take_profit, opened_at, magic, comment, profit, close_price, closed_at, reason) "
        "VALUES (?, 'EURUSD', 'buy', 0.5, 1.07303, NULL, 1.07943, ?, 0, '', 323.19, "
        "1.085, ?, 'take_profit')",
        (ticket, opened, closed),
    )


def _account(path: Path, *deals: tuple[int, float, float], quote: float | None = None) -> None:
    """An account file made by this version, then the rows of ``deals`` (ticket, opened,
    closed) and a quote at ``quote`` written into it with sqlite3, as a version that
    knew no better would."""
    SqliteStore(path, META).close()
    db = sqlite3.connect(path)
    with db:
        for deal in deals:
            _deal(db, *deal)
        if quote is not None:
            db.execute("INSERT OR REPLACE INTO quotes VALUES ('EURUSD', 1.08, 1.0801, ?)", (quote,))
    db.close()


def _findings(path: Path) -> list[str]:
    store = SqliteStore(path, META)
    try:
        return list(getattr(store, "findings", []))
    finally:
        store.close()


def test_a_close_before_its_open_is_said_in_one_line_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    _account(path, (7, _t(3), _t(3, 9)), (50, _t(4, 13, 30), _t(1, 0, 5)), quote=_t(4, 14))
    found = _findings(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"paper account file {path}: 1 closed trade(s) dated before")
    assert "ticket 50, opened 2024-01-04 13:30, closed 2024-01-01 00:05" in found[0]
    db = sqlite3.connect(path)  # the user's history is kept as it is
    try:
        assert db.execute("SELECT count(*) FROM history").fetchone()[0] == 2
    finally:
        db.close()


def test_a_deal_dated_days_behind_one_booked_before_it_is_said(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    _account(path, (7, _t(8), _t(9)), (8, _t(1), _t(1, 6)), quote=_t(9))
    (line,) = _findings(path)
    assert "1 deal(s) dated behind a deal booked before them (the first: ticket 8, " in line
    assert "closed 2024-01-01 06:00, after one closed 2024-01-09 00:00" in line


def test_quotes_rewound_behind_the_run_clock_are_said(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    store = SqliteStore(path, META)
    with store.write():  # the current version stops between two bars
        db = getattr(store, "_db")  # noqa: B009 - the test writes as the host does
        db.execute("INSERT INTO quotes VALUES ('EURUSD', 1.08, 1.0801, ?)", (_t(5, 12),))
        store.set_run_clock(datetime(2024, 1, 5, 12, 3, tzinfo=UTC))
    store.close()
    assert _findings(path) == []  # a clean stop is no damage
    db = sqlite3.connect(path)  # an older version replays from the first day
    with db:
        db.execute("UPDATE quotes SET time = ?", (_t(2),))
    db.close()
    (line,) = _findings(path)
    assert "its newest quote (2024-01-02 00:00) is dated behind the run clock's" in line


def test_an_account_traded_in_order_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    # a --speed host closes on its clock, up to a bar past the newest quote
    _account(path, (1, _t(2), _t(2, 5)), (2, _t(2, 1), _t(2, 5, 2)), (3, _t(2), _t(2, 5)),
             quote=_t(2, 5))  # fmt: skip
    assert _findings(path) == []


def test_the_check_is_cheap_on_a_long_history(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    SqliteStore(path, META).close()
    db = sqlite3.connect(path)
    with db:
        for n in range(100_000):
            _deal(db, n + 1, _t(1) + 60 * n, _t(1) + 60 * n + 30)
        _deal(db, 100_001, _t(20), _t(2))
    started = time.perf_counter()
    line = damage(db, str(path))
    took = time.perf_counter() - started
    db.close()
    assert line is not None and "ticket 100001" in line
    assert took < 2.0, took


def _run(cwd: Path, days: int, report: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", report]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_live_run_on_a_damaged_file_says_it_at_start_in_the_log_and_notes(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    first = _run(tmp_path, 1, "r1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "paper account file" not in first.stderr
    db = sqlite3.connect(tmp_path / ACCOUNT)  # what the older version left
    with db:
        _deal(db, 50, _t(1, 13, 30), _t(1, 0, 5))
    db.close()
    again = _run(tmp_path, 2, "r2")
    assert again.returncode == 0, again.stderr[-2000:]
    said = [line for line in again.stderr.splitlines() if "dated before they were" in line]
    assert len(said) == 1, again.stderr[-3000:]
    assert said[0].startswith(f"hostapp: paper account file {ACCOUNT}: 1 closed trade(s)")
    assert "ticket 50, opened 2024-01-01 13:30, closed 2024-01-01 00:05" in said[0]
    line = said[0].removeprefix("hostapp: ")
    log = (tmp_path / "r2" / "hostapp.log").read_text()
    assert sum(line in row for row in log.splitlines()) == 1
    assert line in json.loads((tmp_path / "r2" / "summary.json").read_text())["host_notes"]
    db = sqlite3.connect(tmp_path / ACCOUNT)
    try:  # kept: the row is the user's history
        assert db.execute("SELECT count(*) FROM history WHERE ticket = 50").fetchone()[0] == 1
    finally:
        db.close()
