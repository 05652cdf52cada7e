"""A closed position as the trade server's history says it closed (``closed_trade``,
:mod:`hostapp.brokers.mt5_history`): the result of all its deals, the last one's price
and time; ``None`` while the history lags, so the loop reports the last view."""

from __future__ import annotations

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake

from hookspecs import ClosedPositions, OrderRequest


def test_a_netting_position_grown_twice_then_closed_in_two_parts() -> None:
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    assert isinstance(broker, ClosedPositions)
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.1)).new_ticket
    assert ticket is not None
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2001.0, 2001.3
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.3)).netting == "added"
    assert broker.closed_trade(ticket) is None  # still open
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2004.0, 2004.3
    assert broker.close(ticket, 0.2).ok
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1999.0, 1999.3
    assert broker.close(ticket).ok
    closed = broker.closed_trade(ticket)
    assert closed is not None
    # entry: (2000.3 × 0.1 + 2001.3 × 0.3) / 0.4 = 2001.05; the deals booked
    # (2004.0 - 2001.05) × 0.2 × 100 = 59 and (1999.0 - 2001.05) × 0.2 × 100 = -41
    assert closed.entry_price == pytest.approx(2001.05)
    assert (closed.direction, closed.volume, closed.close_price) == ("buy", 0.2, 1999.0)
    assert closed.profit == pytest.approx(18.0)


def test_nothing_while_the_history_lags_behind_the_positions() -> None:
    fake = make_fake(history_lag=30.0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = broker.open(OrderRequest("XAUUSD", "sell", 0.1)).new_ticket
    assert ticket is not None and broker.close(ticket).ok
    assert broker.closed_trade(ticket) is None
    fake.advance(31.0)
    closed = broker.closed_trade(ticket)
    assert closed is not None and closed.direction == "sell"


def test_a_reversed_netting_position_is_the_side_that_closed() -> None:
    """A buy reversed into a sell under the same ticket, then closed: the close is the
    sell's, from the reversal on; the buy's result was the reversal's (reported when the
    order reversed it), not counted again."""
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.1)).new_ticket  # at 2000.30
    assert ticket is not None
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2010.0, 2010.3
    flipped = broker.open(OrderRequest("XAUUSD", "sell", 0.3))  # the buy's +97, a sell 0.2
    assert (flipped.netting, flipped.new_ticket) == ("reversed", ticket)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2005.0, 2005.3
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.2)).netting == "closed"
    closed = broker.closed_trade(ticket)
    assert closed is not None
    assert (closed.direction, closed.volume, closed.entry_price) == ("sell", 0.2, 2010.0)
    assert closed.profit == pytest.approx(94.0)  # (2010.0 - 2005.3) × 0.2 × 100


def test_a_margin_stop_out_is_no_stop_loss_and_is_noted_for_the_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DEAL_REASON_SO reached the plugins as a close like any other, and nothing said the
    broker had stopped the account out."""
    fake = make_fake()
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.1)).new_ticket
    assert ticket is not None and broker.run_notes == []
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1990.0, 1990.3
    fake.stop_out(ticket)
    for _ in range(2):  # asked twice (the loop may): counted once
        closed = broker.closed_with_reason(ticket)
        assert closed is not None and closed[1] is None  # no CloseReason fits
    assert closed[0].profit == pytest.approx(-103.0)  # (1990.0 - 2000.3) × 0.1 × 100
    (note,) = broker.run_notes
    assert note.startswith(
        f"the broker stopped out 1 position (margin stop-out, DEAL_REASON_SO): {ticket} buy "
        "0.1 XAUUSD (-103.00); the plugins were not told it was a stop-out"
    )
    said = [r.getMessage() for r in caplog.records if "stopped out" in r.getMessage()]
    assert said == [
        f"the broker stopped out position {ticket} buy 0.1 XAUUSD (-103.00) (margin stop-out)"
    ]


def test_a_position_whose_ticket_is_not_its_identifier_is_found_by_its_deals() -> None:
    """The server re-opened the position (a swap charged so) under a new ticket: the
    broker presents its identifier as its ticket, which its deals carry and the history
    is asked by, and the close has the same ticket. Asked by the ticket, the history never
    showed it closed."""
    fake = make_fake()
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2010.0, sl=1999.0, identifier=4242)
    assert [t.ticket for t in broker.positions()] == [4242]
    fake.hit_stop(ticket)
    closed = broker.closed_with_reason(4242)
    assert closed is not None
    trade, reason = closed
    assert (trade.ticket, reason, trade.close_price) == (4242, "stop_loss", 1999.0)
    assert trade.profit == pytest.approx(-110.0)  # (1999.0 - 2010.0) × 0.1 × 100
