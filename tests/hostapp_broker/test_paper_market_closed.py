"""A symbol's market closed while another symbol trades refuses orders, stop moves and
closes (``market_closed``), as a broker does: a run of symbols with other hours (an
index's daily break beside FX, FX beside bitcoin at the weekend) moves the clock on with
the others' bars, and the paper broker took a stop move on the closed symbol at its last
price before the close (hostapp/brokers/paper_orders.py, ``_quoted``). On the paper
account file too, where another process (``dtms serve``) trades the same account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import Bar, OrderRequest, ResultCode
from hostapp.brokers.paper import PaperBroker, PaperSettings

T0 = datetime(2024, 1, 2, 20, 0, tzinfo=UTC)
M5 = timedelta(minutes=5)


def bar(t: datetime, price: float) -> Bar:
    return Bar(t, price, price + 1.0, price - 1.0, price, 100.0, 0.3)


@pytest.mark.parametrize("on_file", [False, True])
def test_a_closed_market_refuses_while_another_trades_and_takes_again_at_its_open(
    tmp_path: Path, on_file: bool
) -> None:
    settings = PaperSettings(account_file=str(tmp_path / "account.sqlite")) if on_file else None
    broker = PaperBroker(settings=settings) if settings else PaperBroker()
    broker.on_bar("XAUUSD", bar(T0, 2000.0))
    broker.on_bar("EURUSD", Bar(T0, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0))
    assert opened.ok and opened.new_ticket is not None, opened
    ticket = opened.new_ticket

    assert broker.modify_sl_tp(ticket, 1992.0, None).ok
    # a step with a bar of EURUSD and none of XAUUSD (the host feeds every symbol's bar
    # of a step before any plugin acts): XAUUSD's market is closed
    broker.on_bar("EURUSD", Bar(T0 + M5, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    for refused in (
        broker.modify_sl_tp(ticket, 1995.0, None),
        broker.close(ticket),
        broker.close(ticket, 0.05),
        broker.hedge(ticket, 0.1),
        broker.open(OrderRequest("XAUUSD", "sell", 0.1)),
    ):
        assert not refused.ok and refused.code is ResultCode.MARKET_CLOSED, refused
        assert "the market of XAUUSD is closed" in refused.message
    assert broker.position(ticket) is not None
    assert broker.position(ticket).stop_loss == 1992.0  # type: ignore[union-attr]
    assert broker.open(OrderRequest("EURUSD", "buy", 0.1)).ok  # the open market trades

    broker.on_bar("EURUSD", Bar(T0 + 2 * M5, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    broker.on_bar("XAUUSD", bar(T0 + 2 * M5, 2001.0))  # its market opens again
    assert broker.modify_sl_tp(ticket, 1995.0, None).ok
    assert broker.close(ticket).ok
