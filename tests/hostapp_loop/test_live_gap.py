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
from hostapp.live_gap import history_mark
from hostapp.live_interim import said_unfinished
from hostapp.trade_rows import TRADE_COLUMNS

LOGIN = 1234567  # the paper account's


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
    SqliteStore(account, AccountMeta(LOGIN, 10_000.0, "hedging", "USD")).close()
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
        _deal(db, 12, 4.0, "DTMS_HEDGE_11")  # a hedge: folded into its trade, as in trades.csv
        _deal(db, 13, -60.48)  # opened and closed after the report
    db.close()
    with caplog.at_level(logging.WARNING):
        said_unfinished(report, str(account))
    err = capsys.readouterr().err
    line = (
        "2 trades closed after the run before's last report and are in no report, only in "
        "the account's history and balance: ticket 11 (-36.00), 13 (-60.48) (total "
        f"-96.48; {report / 'summary.json.1'} ends before them)"
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


def _kept(report: Path, **summary: object) -> None:
    (report / "summary.json").write_text(
        json.dumps({"interim_at": "2026-12-07T15:10:03", **summary})
    )


def test_after_the_mark_every_close_no_report_shows_is_named_rows_or_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report written before the run closed anything has no rows: its mark (where the
    account's history stood when the run began) still says which deals are the run's.
    Before it, nothing was named; a carried position's close the report counted (its
    ``carried_closed``) is not named, one after it is."""
    report, account = _killed_report(tmp_path)
    db = sqlite3.connect(account)
    with db:
        _deal(db, 3, 7.0)  # the run before's: before the mark
        _deal(db, 4, -2.0)  # carried into the killed run, closed in it, reported
        _deal(db, 5, -9.0)  # carried too, closed after the report
        _deal(db, 8, -60.48)  # the killed run's, closed after the report
        _deal(db, 9, 3.0)  # still open: the next run reports it
        db.execute(
            "INSERT INTO positions (ticket, symbol, direction, volume, entry_price, "
            "opened_at, magic, comment) VALUES (9, 'EURUSD', 'buy', 0.5, 1.07, 1704375000, "
            "0, '')"
        )
    db.close()
    _kept(report, account_history_mark={"login": LOGIN, "last_deal": 1}, carried_closed=[4])
    said_unfinished(report, str(account))
    err = capsys.readouterr().err
    assert "ticket 5 (-9.00), 8 (-60.48) (total -69.48;" in err, err


def test_a_mark_of_another_type_is_read_as_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kept summary edited by hand (a mark that is no whole number) falls back on the
    rows: none here, so nothing is named, and nothing fails."""
    report, account = _killed_report(tmp_path)
    db = sqlite3.connect(account)
    with db:
        _deal(db, 8, -60.48)
    db.close()
    for mark in ("1", True, 1.5, None, {"login": LOGIN, "last_deal": "1"}):
        _kept(report, account_history_mark=mark, carried_closed="4")
        said_unfinished(report, str(account))
        err = capsys.readouterr().err
        assert "did not stop cleanly" in err and "in no report" not in err


def test_a_trade_shown_open_is_named_for_what_its_row_had_not_realised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its row had its partial close's profit already: only the rest of its result is
    unreported (the whole was counted twice)."""
    report, account = _killed_report(
        tmp_path, {"ticket": 2, "close_reason": "open", "profit": "20.0"}
    )
    db = sqlite3.connect(account)
    with db:
        _deal(db, 2, 20.0)  # its partial close, in the kept row
        _deal(db, 2, -5.0)  # the rest, closed after the report
    db.close()
    _kept(report, account_history_mark={"login": LOGIN, "last_deal": 0}, carried_closed=[])
    said_unfinished(report, str(account))
    assert "ticket 2 (-5.00) (total -5.00;" in capsys.readouterr().err


def test_another_accounts_mark_names_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The account file replaced by a fresh one, the report folder kept: the kept mark is
    the old account's, and the new one's deals are none of that run's."""
    report, account = _killed_report(tmp_path)
    db = sqlite3.connect(account)
    with db:
        _deal(db, 8, -60.48)
    db.close()
    _kept(report, account_history_mark={"login": LOGIN + 1, "last_deal": 0}, carried_closed=[])
    said_unfinished(report, str(account))
    err = capsys.readouterr().err
    assert "did not stop cleanly" in err and "in no report" not in err


def test_a_run_killed_after_its_first_report_has_its_trade_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed after the report written as it started (before it traded) and after it
    opened and closed a trade: the report has no row, the mark names the trade."""
    report, account = _killed_report(tmp_path)
    db = sqlite3.connect(account)
    with db:
        _deal(db, 1, -12.5)
    db.close()
    _kept(report, account_history_mark={"login": LOGIN, "last_deal": 0}, carried_closed=[])
    said_unfinished(report, str(account))
    err = capsys.readouterr().err
    assert f"(written while it ran), is kept as {report / 'summary.json.1'}" in err, err
    assert "ticket 1 (-12.50) (total -12.50;" in err, err


def test_the_marks_first_form_its_last_deal_alone_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report of a version that wrote the mark as the last deal's id alone (no login):
    read as such, not as no mark (which named nothing for a report without rows)."""
    report, account = _killed_report(tmp_path)
    db = sqlite3.connect(account)
    with db:
        _deal(db, 5, 3.0)  # before the mark
        _deal(db, 8, -60.48)
    db.close()
    _kept(report, account_history_mark=1, carried_closed=[])
    said_unfinished(report, str(account))
    assert "ticket 8 (-60.48) (total -60.48;" in capsys.readouterr().err


def test_an_account_whose_login_is_no_number_has_no_mark(tmp_path: Path) -> None:
    """Edited by hand: no mark, and nothing fails (a live start reads it)."""
    _, account = _killed_report(tmp_path)
    assert history_mark(account) == {"login": LOGIN, "last_deal": 0}
    with sqlite3.connect(account) as db:
        db.execute("UPDATE meta SET value = 'x' WHERE key = 'login'")
    assert history_mark(account) is None
