"""An open MetaTrader position's profit as the host reads it counts the swap accrued so
far: MetaTrader's ``profit`` leaves it out while the account's equity and the closing
deals count it, so a position held over rollovers showed a floating P&L better than the
one it then closed at, and the run's summary disagreed with the terminal's equity."""

from __future__ import annotations

from hostapp_mt5.mt5_helpers import connect, make_fake

from hookspecs import OrderRequest


def test_the_floating_profit_counts_the_swap_and_the_close_books_what_it_showed() -> None:
    fake = make_fake()
    broker = connect(fake, time_symbols=("XAUUSD",))
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.2))
    assert opened.ok, opened
    (position,) = broker.positions()
    fake.accrue_swap(next(iter(fake.positions)), -3.5)
    fake.accrue_swap(next(iter(fake.positions)), -3.5)
    (row,) = fake.positions_get()
    (held,) = broker.positions()
    assert row.swap == -7.0 and held.profit == round(row.profit - 7.0, 2)
    balance = fake.balance
    assert broker.close(position.ticket).ok
    assert round(fake.balance - balance, 2) == round(held.profit, 2)
    closed = broker.closed_trade(position.ticket)
    assert closed is not None and closed.profit == round(held.profit, 2)


def test_a_partial_close_books_its_share_of_the_swap() -> None:
    fake = make_fake()
    broker = connect(fake, time_symbols=("XAUUSD",))
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.4)).ok
    (position,) = broker.positions()
    fake.accrue_swap(next(iter(fake.positions)), -8.0)
    balance = fake.balance
    assert broker.close(position.ticket, 0.1).ok
    (deal,) = [d for d in fake.deals if d.entry == 1]
    assert deal.swap == -2.0 and round(fake.balance - balance, 2) == round(deal.profit - 2.0, 2)
    (rest,) = fake.positions_get()
    assert rest.swap == -6.0
