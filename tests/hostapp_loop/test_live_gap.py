"""A live run killed between its last interim report and the kill: a trade that closed
in that gap was in the paper account's history and balance, in no report, and the next
start said nothing (a soak probe's ticket 441, −60.48: the next run's start balance was
60.48 below the kept report's end). The next start names such trades."""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_file import SqliteStore
from hostapp.live_interim import said_unfinished
from hostapp.trade_rows import TRADE_COLUMNS


def _killed_report(tmp_path: Path, *rows: dict[str, object]) -> tuple[Path, Path]:
    """A live report folder whose run was killed (an interim summary, ``rows`` in its
    trades.csv), and a fresh paper account file beside it."""
    report = tmp_path / "live"
    report.mkdir()
    (report / "summary.json").write_text(json.dumps({"interim_at": "2026-12-07T15:10:03"}))
    with (report / "trades.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TRADE_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows({**row, "run": "live"} for row in rows)
    account = tmp_path / "account.sqlite"
    SqliteStore(account, AccountMeta(1234567, 10_000.0, "hedging", "USD")).close()
    return report, account


def _deal(db: sqlite3.Connection, ticket: int, profit: float, comment: str = "") -> None:
    db.execute(
        "INSERT INTO history (ticket, symbol, direction, volume, entry_price, stop_loss, "
        "take_profit, opened_at, magic, comment, profit, close_price, closed_at, reason) "
        "VALUES (?, 'EURUSD', 'buy', 0.5, 1.07, NULL, NULL, 1704375000, 0, ?, ?, 1.07, "
        "1704378000, 'stop_loss')",
        (ticket, comment, profit),
    )


def test_the_trades_closed_after_the_last_interim_report_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    report, account = _killed_report(
        tmp_path,
        {"ticket": 10, "close_reason": "take_profit"},
        {"ticket": 11, "close_reason": "open"},
    )
    db = sqlite3.connect(account)
    with db:
        _deal(db, 9, -5.0)  # older than the report's rows: trades.csv keeps a window
        _deal(db, 10, 20.0)  # reported closed
        _deal(db, 11, -30.0)  # open in the report, closed before the kill
        _deal(db, 11, -10.0)  # its partial close's deal before that
        _deal(db, 12, 4.0, "DTMS_HEDGE_11")  # a hedge: folded into its trade's row
        _deal(db, 13, -60.48)  # opened and closed after the report
    db.close()
    with caplog.at_level(logging.WARNING):
        said_unfinished(report, str(account))
    err = capsys.readouterr().err
    line = (
        "2 trades closed after the run before's last report and are in no report, only in "
        "the account's history and balance: ticket 11 (-40.00), 13 (-60.48) (total "
        f"-100.48; {report / 'summary.json.1'} ends before them)"
    )
    assert f"hostapp: {line}\n" in err, err
    assert [r.getMessage() for r in caplog.records].count(line) == 1


def test_a_clean_report_or_no_gap_says_nothing_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, account = _killed_report(tmp_path, {"ticket": 10, "close_reason": "take_profit"})
    db = sqlite3.connect(account)
    with db:
        _deal(db, 10, 20.0)
    db.close()
    said_unfinished(report, str(account))
    assert "in no report" not in capsys.readouterr().err
