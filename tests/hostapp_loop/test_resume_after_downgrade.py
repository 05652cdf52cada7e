"""Where a paper host resumes an account file an older version's run replayed over
(README: going back to an older version): that run left the file's newest quote behind
its positions, and the next start resumed from the quote, pricing positions at a time
before they were opened. It resumes no earlier than the account's newest deal or
position now: a hair (1 µs) before it, so a bar that closes at the time of an action
taken between bars (a ``--speed`` clock stopped at the next bar's close) is still played."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_file import SqliteStore
from hostapp.brokers.paper_account_reads import last_activity

JAN_1 = datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
JAN_4 = datetime(2024, 1, 4, 19, 50, tzinfo=UTC)
JAN_5 = datetime(2024, 1, 5, 8, 0, tzinfo=UTC)
HAIR = timedelta(microseconds=1)


def _account(tmp_path: Path) -> Path:
    path = tmp_path / "account.sqlite"
    SqliteStore(path, AccountMeta(1234567, 10_000.0, "hedging", "USD")).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO quotes VALUES ('XAUUSD', 2000.0, 2000.3, ?)", (JAN_1.timestamp(),))
    return path


def test_a_position_opened_after_the_newest_quote_is_where_it_resumes(tmp_path: Path) -> None:
    path = _account(tmp_path)
    assert last_activity(path) == JAN_1
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO positions (ticket, symbol, direction, volume, entry_price, opened_at, "
            "magic, comment) VALUES (76, 'XAUUSD', 'buy', 0.1, 2040.0, ?, 0, '')",
            (JAN_4.timestamp(),),
        )
    assert last_activity(path) == JAN_4 - HAIR


def test_a_deal_closed_after_the_newest_quote_is_where_it_resumes(tmp_path: Path) -> None:
    path = _account(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO history (ticket, symbol, direction, volume, entry_price, stop_loss, "
            "take_profit, opened_at, magic, comment, profit, close_price, closed_at, reason) "
            "VALUES (75, 'XAUUSD', 'buy', 0.1, 2040.0, NULL, NULL, ?, 0, '', 5.0, 2045.0, ?, "
            "'take_profit')",
            (JAN_4.timestamp(), JAN_5.timestamp()),
        )
    assert last_activity(path) == JAN_5 - HAIR
