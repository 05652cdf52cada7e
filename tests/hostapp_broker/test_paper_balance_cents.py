"""The paper account's balance is kept in cents, as every deal is booked: summing the
deals' float profits stored ``9111.45999999999`` in the account file, which a trader
reading the file (or a tool comparing it with the history's sum) saw off by a hair."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hostapp.brokers.paper_account import AccountMeta, MemoryStore
from hostapp.brokers.paper_account_file import SqliteStore


def test_the_account_file_stores_the_balance_in_cents(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    store = SqliteStore(path, AccountMeta(1, 10_000.1, "hedging", "USD"))
    with store.write():
        store.add_balance(0.2)  # 10000.1 + 0.2 is 10000.300000000001 in floats
    store.close()
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT value FROM meta WHERE key = 'balance'").fetchone()
    assert stored == "10000.3"


def test_the_memory_account_keeps_the_balance_in_cents() -> None:
    store = MemoryStore(AccountMeta(1, 0.1, "hedging", "USD"))
    store.add_balance(0.2)
    assert repr(store.balance()) == "0.3"
