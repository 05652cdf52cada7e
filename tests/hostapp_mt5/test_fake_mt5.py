"""The fake refuses what a real terminal refuses, so the adapter cannot pass by accident."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np
import pytest
from hostapp_mt5.mt5_helpers import make_fake
from support.fake_mt5 import FakeMT5, Fault

GOOD = {"action": 1, "symbol": "XAUUSD", "volume": 0.1, "type": 0, "price": 2000.30,
        "sl": 0.0, "tp": 0.0, "deviation": 20, "magic": 1, "comment": "t",
        "type_time": 0, "type_filling": 0}  # fmt: skip


@pytest.fixture
def term() -> FakeMT5:
    fake = make_fake()
    fake.initialize()
    return fake


def send(fake: FakeMT5, **changes: Any) -> Any:
    request = {**GOOD, **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del request[key]
    return fake.order_send(request)


def test_good_request_executes(term: FakeMT5) -> None:
    assert send(term).retcode == 10009 and len(term.positions) == 1
    assert send(term)._asdict()["request"].type_filling == 0


class Side(IntEnum):
    BUY = 0


@pytest.mark.parametrize("value", [np.float64(0.1), Side.BUY])
def test_non_plain_values_cannot_cross(term: FakeMT5, value: object) -> None:
    with pytest.raises(TypeError, match="plain"):
        send(term, volume=value)


@pytest.mark.parametrize(
    ("changes", "retcode"),
    [({"type_filling": None}, 10013), ({"position_by": 5}, 10013), ({"action": 7}, 10013),
     ({"type": 4}, 10035), ({"type_filling": 1}, 10030),
     ({"volume": 0.015}, 10014), ({"volume": 0.001}, 10014), ({"price": 2000.305}, 10015),
     ({"sl": 2000.0}, 10016), ({"sl": 1999.9}, 10016),
     ({"tp": 1990.0}, 10016), ({"type_time": 1}, 10022),
     ({"position": 999, "sl": None, "tp": None}, 10036)],
)  # fmt: skip
def test_rules_refuse_with_the_real_retcode(
    term: FakeMT5, changes: dict[str, Any], retcode: int
) -> None:
    assert send(term, **changes).retcode == retcode
    assert term.positions == {}


@pytest.mark.parametrize(
    ("exemode", "retcode", "price"),
    [(1, 10004, 0.0), (0, 10004, 0.0), (2, 10009, 2000.30), (3, 10009, 2000.30)],
)
def test_only_instant_and_request_execution_requote(
    term: FakeMT5, exemode: int, retcode: int, price: float
) -> None:
    term.symbols["XAUUSD"].exemode = exemode
    result = send(term, price=2003.0)  # 270 points from the ask: Market fills at the ask
    assert (result.retcode, result.price) == (retcode, price)


def test_market_execution_slips_and_fills_at_the_market(term: FakeMT5) -> None:
    term.symbols["XAUUSD"].slippage = 40
    assert send(term).price == 2000.70
    assert send(term, type=1, price=2000.00).price == 1999.60


@pytest.mark.parametrize(
    ("exemode", "mask", "allowed"),
    [(1, 2, {0}), (0, 3, {0}), (2, 1, {0, 2}), (2, 2, {1, 2}), (2, 3, {0, 1, 2}), (2, 0, {2}),
     (3, 0, {2}), (3, 2, {1, 2})],
)  # fmt: skip
def test_filling_allowed_by_execution_mode(
    term: FakeMT5, exemode: int, mask: int, allowed: set[int]
) -> None:
    term.symbols["XAUUSD"].exemode, term.symbols["XAUUSD"].filling_mode = exemode, mask
    ok = {f for f in (0, 1, 2) if send(term, type_filling=f).retcode == 10009}
    assert ok == allowed


def test_history_lags_behind_the_deals(term: FakeMT5) -> None:
    term.history_lag = 5
    result = send(term)
    assert term.history_deals_get(ticket=result.order) == ()
    term.advance(5)
    assert len(term.history_deals_get(ticket=result.order)) == 1


def test_history_deals_by_ticket_are_an_orders_deals(term: FakeMT5) -> None:
    """``history_deals_get(ticket=)`` takes an order's ticket (DEAL_ORDER); orders and
    deals are numbered apart, so a deal's number may be another order's."""
    first = send(term)
    term._deal_ticket = first.order - 1  # the next deal is numbered as the first order
    second = send(term)
    assert second.deal == first.order != second.order
    (deal,) = term.history_deals_get(ticket=second.order)
    assert (deal.ticket, deal.order, deal.position_id) == (second.deal, second.order, second.order)
    (other,) = term.history_deals_get(ticket=second.deal)  # the first order's deal
    assert (other.order, other.position_id) == (first.order, first.order)


def test_a_closed_market_refuses_stop_changes_as_well_as_deals(term: FakeMT5) -> None:
    ticket = term.add_position("XAUUSD", 0, 0.1, 1990.0, sl=1980.0)
    term.symbols["XAUUSD"].market_open = False
    sltp = {"action": 6, "position": ticket, "symbol": "XAUUSD", "sl": 1985.0, "tp": 0.0}
    assert term.order_send(sltp).retcode == 10018 and term.positions[ticket].sl == 1980.0
    assert send(term).retcode == 10018 and len(term.positions) == 1


def test_a_symbol_without_a_quote_yet_has_a_tick_of_zeros(term: FakeMT5) -> None:
    term.symbols["XAUUSD"].bid = term.symbols["XAUUSD"].ask = 0.0
    tick = term.symbol_info_tick("XAUUSD")
    assert (tick.time, tick.bid, tick.ask, tick.time_msc) == (0, 0.0, 0.0, 0)


@pytest.mark.parametrize("changes", [{"volume": 1}, {"comment": "c" * 32}, {"bogus": 1}])
def test_malformed_fields_return_none_with_last_error(
    term: FakeMT5, changes: dict[str, Any]
) -> None:
    assert send(term, **changes) is None
    code, text = term.last_error()
    assert code == -2 and "Invalid" in text


def test_netting_opposite_deal_reduces_then_reverses() -> None:
    fake = make_fake(margin_mode=0)
    fake.initialize()
    send(fake, volume=0.3)
    send(fake, type=1, price=2000.00, volume=0.1)
    (pos,) = fake.positions.values()
    assert (pos.type, pos.volume) == (0, 0.2)
    send(fake, type=1, price=2000.00, volume=0.5)
    (pos,) = fake.positions.values()
    assert (pos.type, pos.volume) == (1, 0.3)


def test_netting_levels_come_from_the_order_that_grows_or_reverses_the_position() -> None:
    """MT5 Help, SL/TP inheritance (netting): a zero in the growing order deletes a level;
    a reducing order leaves the position's levels alone."""
    fake = make_fake(margin_mode=0)
    fake.initialize()
    send(fake, volume=0.3, sl=1990.0, tp=2010.0)
    send(fake, type=1, price=2000.00, volume=0.1, sl=2005.0, tp=1995.0)  # reduces
    (pos,) = fake.positions.values()
    assert (pos.volume, pos.sl, pos.tp) == (0.2, 1990.0, 2010.0)
    send(fake, volume=0.1, sl=1991.0)  # adds, no take profit
    assert (pos.volume, pos.sl, pos.tp) == (0.3, 1991.0, 0.0)
    send(fake, type=1, price=2000.00, volume=0.5)  # reverses, no levels
    assert (pos.type, pos.sl, pos.tp) == (1, 0.0, 0.0)


def test_close_rules(term: FakeMT5) -> None:
    ticket = term.add_position("XAUUSD", 0, 0.2, 1990.0, sl=1999.5)
    close = {"position": ticket, "type": 1, "price": 2000.00, "sl": None, "tp": None}
    assert send(term, **{**close, "type": 0, "price": 2000.30}).retcode == 10013
    assert send(term, **{**close, "volume": 0.3}).retcode == 10038
    assert send(term, **{**close, "sl": 0.0}).retcode == 10013  # no stops on a close
    term.symbols["XAUUSD"].freeze_level = 60
    assert send(term, **close).retcode == 10029
    term.symbols["XAUUSD"].freeze_level = 0
    assert send(term, **close).retcode == 10009 and term.positions[ticket].volume == 0.1


def test_scripted_timeout_that_executed(term: FakeMT5) -> None:
    term.faults.append(Fault(10012, execute=True))
    assert send(term).retcode == 10012 and len(term.positions) == 1
    term.faults.append(Fault(None, execute=True))
    assert send(term) is None and len(term.positions) == 2
    assert term.last_error() == (-10005, "IPC timeout")


def test_calls_before_initialize_fail_like_the_terminal() -> None:
    fake = make_fake()
    assert fake.positions_get() is None
    assert fake.last_error() == (-10004, "No IPC connection")
    assert fake.TRADE_ACTION_SLTP == 6 and fake.ORDER_FILLING_RETURN == 2
    with pytest.raises(AttributeError):
        fake.SYMBOL_FILLING_FOK  # noqa: B018 - mt5linux does not define it either


def test_a_terminal_without_its_trade_server_answers_10031(term: FakeMT5) -> None:
    term.server_connected = False
    assert term.terminal_info().connected is False
    assert send(term).retcode == 10031 and term.positions == {}
    term.server_connected = True
    assert term.terminal_info().connected is True and send(term).retcode == 10009


def test_a_closing_deal_books_its_profit_into_the_balance(term: FakeMT5) -> None:
    """As the server does: the balance moves on deals, the equity is the balance plus the
    open positions' floating profit."""
    ticket = send(term).order  # a buy of 0.1 at 2000.30
    term.symbols["XAUUSD"].bid, term.symbols["XAUUSD"].ask = 2010.00, 2010.30
    floating = term.account_info()
    assert (floating.balance, floating.equity) == (10_000.0, 10_097.0)
    closed = send(term, type=1, price=2010.00, position=ticket, sl=None, tp=None)
    assert closed.retcode == 10009 and term.deals[-1].profit == 97.0
    account = term.account_info()
    assert (account.balance, account.equity) == (10_097.0, 10_097.0)


def test_stops_and_targets_the_price_reaches_close_the_position_when_asked(term: FakeMT5) -> None:
    """With ``trigger_levels`` the server closes at the price that reached the level (a
    gap fills past it), before the next call is answered; without, prices move freely."""
    s = term.symbols["XAUUSD"]
    buy = term.add_position("XAUUSD", 0, 0.1, 2000.0, sl=1995.0, tp=2010.0)
    sell = term.add_position("XAUUSD", 1, 0.1, 2000.0, sl=2010.0, tp=1998.0)
    s.bid, s.ask = 1994.5, 1994.8  # past the buy's stop and the sell's target
    assert len(term.positions_get()) == 2  # off by default
    term.trigger_levels = True
    assert term.positions_get() == ()
    sl, tp = (d for d in term.deals if d.entry == 1)
    assert (sl.position_id, sl.reason, sl.price, sl.profit) == (buy, 4, 1994.5, -55.0)
    assert (tp.position_id, tp.reason, tp.price, tp.profit) == (sell, 5, 1994.8, 52.0)
    assert term.balance == 10_000.0 - 55.0 + 52.0


def test_a_server_that_prohibits_hedging_refuses_an_opposite_position(term: FakeMT5) -> None:
    term.hedge_prohibited = True
    ticket = send(term).order  # a buy
    assert send(term, type=1, price=2000.00).retcode == 10046  # a sell beside it
    assert send(term).retcode == 10009  # another buy
    close = send(term, type=1, price=2000.00, position=ticket, sl=None, tp=None)
    assert close.retcode == 10009 and len(term.positions) == 1


def test_a_re_opened_position_keeps_its_identifier_in_its_deals(term: FakeMT5) -> None:
    ticket = term.add_position("XAUUSD", 0, 0.1, 1990.0, sl=1980.0, identifier=123)
    (pos,) = term.positions_get()
    assert (pos.ticket, pos.identifier) == (ticket, 123)
    term.hit_stop(ticket)
    assert term.history_deals_get(position=ticket) == ()
    (deal,) = term.history_deals_get(position=123)
    assert (deal.position_id, deal.reason) == (123, 4)


def test_the_rollover_re_opens_a_position_under_a_new_ticket(term: FakeMT5) -> None:
    ticket = send(term, sl=1990.0).order  # a buy of 0.1 at 2000.30
    term.symbols["XAUUSD"].bid, term.symbols["XAUUSD"].ask = 2005.0, 2005.3
    new = term.reopen(ticket, swap=-0.7)
    (pos,) = term.positions_get()
    assert (pos.ticket, pos.identifier, pos.price_open, pos.sl, pos.magic) == (
        new, ticket, 2005.0, 1990.0, 1,
    )  # fmt: skip
    deals = term.history_deals_get(position=ticket)
    assert [(d.type, d.entry, d.reason, d.volume, d.price, d.profit, d.swap) for d in deals] == [
        (0, 0, 3, 0.1, 2000.3, 0.0, 0.0),  # the order's open
        (1, 1, 7, 0.1, 2005.0, 47.0, -0.7),  # DEAL_REASON_ROLLOVER: the close and the swap
        (0, 0, 7, 0.1, 2005.0, 0.0, 0.0),  # and the open again
    ]
    assert term.balance == 10_000.0 + 47.0 - 0.7
    gone = send(term, type=1, price=2005.0, position=ticket, sl=None, tp=None)
    assert gone.retcode == 10036  # the old ticket names no position any more
    close = send(term, type=1, price=2005.0, position=new, sl=None, tp=None)
    assert close.retcode == 10009 and term.positions == {}
    assert term.history_deals_get(ticket=close.order)[0].position_id == ticket


def test_a_terminal_not_synchronised_lists_no_positions(term: FakeMT5) -> None:
    term.add_position("XAUUSD", 0, 0.1, 1990.0)
    term.empty_positions_get = 1
    assert term.positions_get() == ()
    assert len(term.positions_get()) == 1
