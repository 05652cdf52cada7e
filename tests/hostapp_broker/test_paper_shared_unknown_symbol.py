"""Two paper brokers on one account file with different symbol tables: a position on a
symbol one of them does not know is refused by it (REJECTED), never a KeyError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookspecs import ActionResult, OrderRequest, ResultCode, SymbolInfo
from hostapp.brokers.paper import DEFAULT_SYMBOLS, PaperBroker, PaperSettings

T = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
GOLD_ONLY = {"XAUUSD": DEFAULT_SYMBOLS["XAUUSD"]}
WITH_OIL = {**GOLD_ONLY, "WTI": SymbolInfo("WTI", 2, 0.01, 0.01, 0.01, 100.0, contract_size=100.0)}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[PaperBroker, PaperBroker, int]]:
    path = str(tmp_path / "account.sqlite")
    knows_oil = PaperBroker(symbols=WITH_OIL, settings=PaperSettings(account_file=path))
    gold_only = PaperBroker(symbols=GOLD_ONLY, settings=PaperSettings(account_file=path))
    knows_oil.set_quote("WTI", 80.0, 80.05, T)
    opened = knows_oil.open(OrderRequest("WTI", "buy", 0.1))
    assert opened.ok and opened.new_ticket is not None, opened.message
    yield knows_oil, gold_only, opened.new_ticket
    knows_oil.release()
    gold_only.release()


def test_the_other_broker_sees_the_position(pair: tuple[PaperBroker, PaperBroker, int]) -> None:
    _, gold_only, ticket = pair
    assert [(p.ticket, p.symbol) for p in gold_only.positions()] == [(ticket, "WTI")]


@pytest.mark.parametrize(
    "call",
    [
        lambda b, t: b.modify_sl_tp(t, 79.0, 82.0),
        lambda b, t: b.close(t),
        lambda b, t: b.close(t, 0.05),
        lambda b, t: b.hedge(t, 0.1),
    ],
    ids=["modify_sl_tp", "close", "close_partial", "hedge"],
)
def test_unknown_symbol_is_a_refusal(
    pair: tuple[PaperBroker, PaperBroker, int], call: Callable[[PaperBroker, int], ActionResult]
) -> None:
    knows_oil, gold_only, ticket = pair
    result = call(gold_only, ticket)
    assert not result.ok
    assert result.code == ResultCode.REJECTED
    assert "unknown symbol 'WTI'" in result.message and str(ticket) in result.message
    # nothing changed: the position is still there, untouched, for the broker that knows it
    (pos,) = knows_oil.positions()
    assert (pos.ticket, pos.volume, pos.stop_loss, pos.take_profit) == (ticket, 0.1, None, None)
    assert knows_oil.close(ticket).ok
