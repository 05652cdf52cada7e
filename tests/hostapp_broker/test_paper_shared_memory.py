"""A paper broker that only reads a shared account file (the serving host's, which never
feeds bars) keeps nothing of the positions another process has closed: a server that
watches a trading host for months must not hold one Trade per position it ever saw."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from hookspecs import Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings

TRADER = """
import json, sys
from datetime import UTC, datetime
from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings

path, role, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = PaperBroker(settings=PaperSettings(account_file=path))
b.set_quote("XAUUSD", 2000.0, 2000.3, datetime(2024, 1, 2, 10, 0, tzinfo=UTC))
if role == "open":
    tickets = [b.open(OrderRequest("XAUUSD", "buy", 0.01)).new_ticket for _ in range(n)]
else:
    tickets = [p.ticket for p in b.positions()]
    assert all(b.close(t).ok for t in tickets)
b.release()
print(json.dumps(tickets))
"""


def trader(account: Path, role: str, n: int = 0) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", TRADER, str(account), role, str(n)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    tickets: list[int] = json.loads(done.stdout)
    return tickets


def trades_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Trade)


def test_a_reader_keeps_no_trade_of_closed_positions(tmp_path: Path) -> None:
    account = tmp_path / "account.db"
    reader = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        before = trades_alive()
        for _ in range(3):  # a trading host's positions come and go
            opened = trader(account, "open", 100)
            assert sorted(t.ticket for t in reader.positions()) == sorted(opened)
            assert trades_alive() >= before + 100  # the count sees what the reader holds
            assert sorted(trader(account, "close")) == sorted(opened)
            assert reader.positions() == []
            assert trades_alive() <= before  # and forgotten once closed
    finally:
        reader.release()
