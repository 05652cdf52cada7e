"""A shared paper account file asked about a ticket it cannot hold (2**63 and above: a
SQLite INTEGER is signed 64 bits; a client may register a ticket up to 2**64 - 1, as
MetaTrader's are ulong) answers "no such position or deal". It raised OverflowError
instead, from every question keyed by the ticket, and DTMS asks the broker how a trade
it cannot see closed on every cycle: one such registration on ``dtms serve`` failed the
cycle of every trade on the account, and its start-up after a restart (docs/dtms.md §8).

Real parts: the paper broker on a real account file in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

BIG = (2**63, 2**64 - 1, -(2**63) - 1)


@pytest.mark.parametrize("ticket", BIG)
def test_every_question_about_a_ticket_the_file_cannot_hold_is_no_such(
    tmp_path: Path, ticket: int
) -> None:
    broker = PaperBroker(settings=PaperSettings(account_file=str(tmp_path / "account.db")))
    try:
        for bar in bars_from_closes([2000.0 + i % 3 for i in range(20)]):
            broker.on_bar("XAUUSD", bar)
        opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
        assert opened.ok and opened.new_ticket is not None
        assert broker.position(ticket) is None
        assert broker.closed_with_reason(ticket) is None
        assert broker.closed_trade(ticket) is None
        for result in (
            broker.close(ticket, None),
            broker.modify_sl_tp(ticket, 1990.0, None),
            broker.hedge(ticket, 0.1),
        ):
            assert not result.ok and result.code is ResultCode.NOT_FOUND, result
        store = broker._store  # the file's own queries, the ledger's and the orders'
        assert store.get(ticket) is None and store.last_deal(ticket) is None
        assert store.realised(ticket) == 0.0
        store.delete(ticket)
        assert [p.ticket for p in broker.positions()] == [opened.new_ticket]  # untouched
    finally:
        broker.release()
