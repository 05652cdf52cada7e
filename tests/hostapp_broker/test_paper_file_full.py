"""A write of the paper account file that finds the disk full is undone whole and raised
as :class:`AccountFileFull`, a BrokerError naming the file (and still an
OperationalError for the callers that take a failed write as one); the file takes the
next write once there is room. The full disk is SQLite's own ``SQLITE_FULL``, from
``PRAGMA max_page_count`` on the store's connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import Bar, BrokerError
from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_file import AccountFileFull, SqliteStore


def _bars(n: int) -> list[Bar]:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return [Bar(t0 + timedelta(minutes=5 * i), 1.0, 1.1, 0.9, 1.0, 1.0) for i in range(n)]


def test_a_full_disk_undoes_the_write_and_says_which_file(tmp_path: Path) -> None:
    path = tmp_path / "acct.sqlite"
    store = SqliteStore(path, AccountMeta(1234567, 10_000.0, "hedging", "USD"))
    try:
        (pages,) = store._db.execute("PRAGMA page_count").fetchone()
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(AccountFileFull) as caught, store.write():
            store.add_balance(100.0)
            for bar in _bars(5000):  # more than the file's pages hold
                store.add_bar("EURUSD", bar, "M5")
        assert isinstance(caught.value, BrokerError)
        assert str(caught.value).startswith(
            f"paper account file {path}: the disk is full (database or disk is full)"
        )
        with store.read():
            assert store.balance() == 10_000.0  # the balance went with the bars: undone
            assert store._db.execute("SELECT count(*) FROM bars").fetchone() == (0,)
        store._db.execute("PRAGMA max_page_count = 1000000")  # room again
        with store.write():
            store.add_balance(5.0)
        with store.read():
            assert store.balance() == 10_005.0
    finally:
        store.close()
