"""The paper broker: fills, stops inside bars, refusals with codes, hedging, netting."""

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import (
    Bar,
    Broker,
    OrderRequest,
    ProfitCalculator,
    ResultCode,
    SymbolInfo,
    parse_settings,
)
from hostapp.brokers.paper import DEFAULT_SYMBOLS, PaperBroker, PaperSettings

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
M5 = timedelta(minutes=5)


def gold(**kw: object) -> PaperBroker:
    b = PaperBroker(settings=PaperSettings(**kw))  # type: ignore[arg-type]
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    return b


def buy(b: PaperBroker, volume: float = 0.1, **kw: object) -> int:
    r = b.open(OrderRequest("XAUUSD", "buy", volume, **kw))  # type: ignore[arg-type]
    assert r.ok, r
    assert r.new_ticket is not None
    return r.new_ticket


def bar(t: datetime, o: float, h: float, low: float, c: float, spread: float = 0.3) -> Bar:
    return Bar(t, o, h, low, c, 100.0, spread)


def test_is_a_broker_and_settings_parse() -> None:
    assert isinstance(PaperBroker(), Broker)
    s = parse_settings(
        PaperSettings, {"balance": 5000, "margin_mode": "netting"}, "plugins.toml [host.paper]"
    )
    assert s == PaperSettings(5000.0, "netting", "", "USD")
    with pytest.raises(ValueError, match="balance must be > 0"):
        PaperSettings(balance=0)
    assert DEFAULT_SYMBOLS["EURUSD"].contract_size == 100_000
    assert DEFAULT_SYMBOLS["XAUUSD"].stops_level == 0.5


def test_buy_fills_at_ask_sell_at_bid_and_profit_follows_the_formula() -> None:
    b = gold()
    t1 = buy(b, 0.1)
    r = b.open(OrderRequest("XAUUSD", "sell", 0.2))
    assert r.ok and r.new_ticket == t1 + 1
    pos = b.position(t1)
    assert pos is not None and pos.entry_price == 2000.3 and pos.opened_at == T0
    assert b.position(t1 + 1).entry_price == 2000.0  # type: ignore[union-attr]
    b.set_quote("XAUUSD", 2010.0, 2010.3, T0 + M5)
    # buy: (2010.0 - 2000.3) * 0.1 * 100 = 97; sell: (2000.0 - 2010.3) * 0.2 * 100 = -206
    assert [t.profit for t in b.positions()] == [97.0, -206.0]
    acc = b.account()
    assert (acc.balance, acc.equity, acc.margin_mode) == (10_000.0, 9891.0, "hedging")
    assert b.close(t1).ok
    assert b.realised_pnl() == 97.0 and b.account().balance == 10_097.0
    (closed,) = b.closed_trades()
    assert (closed.close_price, closed.closed_at, closed.profit) == (2010.0, T0 + M5, 97.0)
    assert b.history()[0].reason == "action"


def test_volume_rounded_down_to_step_and_refused_out_of_bounds() -> None:
    b = gold()
    t = buy(b, 0.129)
    assert b.position(t).volume == 0.12  # type: ignore[union-attr]
    low = b.open(OrderRequest("XAUUSD", "buy", 0.009))
    assert (low.ok, low.code) == (False, ResultCode.INVALID_VOLUME)
    assert "below the minimum 0.01" in low.message
    high = b.open(OrderRequest("XAUUSD", "buy", 150.0))
    assert high.code is ResultCode.INVALID_VOLUME and "maximum 100" in high.message


def test_stops_level_and_wrong_side_are_invalid_stops() -> None:
    b = gold()  # bid 2000.0, ask 2000.3; stops level 0.5
    ok = b.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1999.5, take_profit=2000.5))
    assert ok.ok
    near = b.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1999.6))
    assert near.code is ResultCode.INVALID_STOPS
    assert "closer than the stops level 0.5" in near.message
    wrong = b.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2000.2))
    assert wrong.code is ResultCode.INVALID_STOPS and "above the ask 2000.3" in wrong.message
    sell_ok = b.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2000.8, take_profit=1999.8))
    assert sell_ok.ok


def test_modify_sl_tp() -> None:
    b = gold()
    t = buy(b, 0.1, stop_loss=1990.0)
    assert b.modify_sl_tp(t, 1995.0, 2020.0).ok
    pos = b.position(t)
    assert pos is not None and (pos.stop_loss, pos.take_profit) == (1995.0, 2020.0)
    same = b.modify_sl_tp(t, 1995.0, 2020.0)
    assert (same.ok, same.code) == (True, ResultCode.NO_CHANGES)
    assert b.modify_sl_tp(t, 1999.8, 2020.0).code is ResultCode.INVALID_STOPS
    assert b.modify_sl_tp(999, 1990.0, None).code is ResultCode.NOT_FOUND
    assert b.modify_sl_tp(t, None, None).ok
    assert b.position(t).stop_loss is None  # type: ignore[union-attr]


def test_freeze_level_refuses_moving_a_level_near_the_price() -> None:
    info = DEFAULT_SYMBOLS["XAUUSD"]
    frozen = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, 0.5, 1.0, 100.0)
    b = PaperBroker(symbols={"XAUUSD": frozen})
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    t = buy(b, 0.1, stop_loss=1998.0)
    b.set_quote("XAUUSD", 1998.5, 1998.8, T0 + M5)
    r = b.modify_sl_tp(t, 1997.0, None)
    assert r.code is ResultCode.FROZEN and info.freeze_level == 0.0


def test_freeze_level_refuses_closing_as_metatrader_does() -> None:
    """A position whose stop sits within the freeze level cannot be closed either, in
    full or in part (MetaTrader's 10029, which DTMS waits for): the paper broker let
    every plugin close it, so a replay let the other plugins do what the real server
    would refuse. Out of it, the close goes through."""
    frozen = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, 0.5, 1.0, 100.0)
    b = PaperBroker(symbols={"XAUUSD": frozen})
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    t = buy(b, 0.2, stop_loss=1998.0)
    b.set_quote("XAUUSD", 1999.0, 1999.3, T0 + M5)  # the bid 1.0 above the stop: inside
    for r in (b.close(t, 0.1), b.close(t)):
        assert r.code is ResultCode.FROZEN and "freeze level 1" in r.message
    assert b.position(t) is not None and b.position(t).volume == 0.2  # type: ignore[union-attr]
    b.set_quote("XAUUSD", 1999.1, 1999.4, T0 + 2 * M5)  # 1.1 above: out of it
    assert b.close(t).ok and b.position(t) is None


def test_freeze_level_counts_a_level_past_the_price_as_inside() -> None:
    """Measured towards each level, as MetaTrader measures it: a target the price has
    passed (a sell's target above the ask between two bars) is inside, however far."""
    frozen = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, 0.5, 1.0, 100.0)
    b = PaperBroker(symbols={"XAUUSD": frozen})
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    r = b.open(OrderRequest("XAUUSD", "sell", 0.1, take_profit=1990.0))
    assert r.new_ticket is not None
    t = r.new_ticket
    b.set_quote("XAUUSD", 1985.0, 1985.3, T0 + M5)  # the ask 4.7 past the target
    assert b.modify_sl_tp(t, 2010.0, 1990.0).code is ResultCode.FROZEN


def test_partial_close_books_the_part_and_keeps_the_ticket() -> None:
    b = gold()
    t = buy(b, 0.3)
    b.set_quote("XAUUSD", 2002.3, 2002.6, T0 + M5)
    r = b.close(t, 0.105)  # rounded down to 0.1
    assert r.ok and r.new_ticket is None
    assert b.position(t).volume == 0.2  # type: ignore[union-attr]
    assert b.realised_pnl() == 20.0  # (2002.3 - 2000.3) * 0.1 * 100
    assert b.close(t, 0.195).ok  # 0.19 closed, 0.01 (the minimum) left
    assert b.position(t).volume == 0.01  # type: ignore[union-attr]
    assert b.close(t, 0.001).code is ResultCode.INVALID_VOLUME
    assert b.close(t, 5.0).ok and b.position(t) is None  # more than held: all of it
    assert [d.volume for d in b.closed_trades()] == [0.1, 0.19, 0.01]
    assert b.close(t).code is ResultCode.NOT_FOUND


@pytest.mark.parametrize("on_file", [False, True])
def test_a_closed_position_carries_the_profit_of_all_its_closing_deals(
    tmp_path: Path, on_file: bool
) -> None:
    """``on_trade_closed`` promises the position's realised profit: DTMS's account rails
    sum it, and a partial close's part left out made a losing day look small."""
    file = str(tmp_path / "account.sqlite") if on_file else ""
    b = PaperBroker(settings=PaperSettings(account_file=file))
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    t = buy(b, 0.3, stop_loss=1995.0)
    b.set_quote("XAUUSD", 1998.0, 1998.3, T0 + M5)
    assert b.close(t, 0.1).ok  # (1998.0 - 2000.3) * 0.1 * 100 = -23
    ((closed, reason),) = b.on_bar("XAUUSD", bar(T0 + M5, 1998.0, 1998.2, 1994.0, 1995.5))
    # the stop: (1995.0 - 2000.3) * 0.2 * 100 = -106, and the partial's -23
    assert (reason, closed.volume, closed.close_price) == ("stop_loss", 0.2, 1995.0)
    assert closed.profit == -129.0
    assert b.closed_trade(t) == closed
    assert [d.profit for d in b.closed_trades()] == [-23.0, -106.0]  # the deals, each


def test_partial_close_leaving_less_than_the_minimum_is_done_and_said() -> None:
    """MetaTrader checks the request's volume, not the rest (tests/hostapp_mt5's
    test_mt5_paper_partials.py: the adapter on the fake terminal does the same)."""
    info = SymbolInfo("XAUUSD", 2, 0.01, 0.1, 0.01, 100.0, 0.5, 0.0, 100.0)
    b = PaperBroker(symbols={"XAUUSD": info})
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    t = buy(b, 0.15)
    r = b.close(t, 0.1)
    assert r.ok and "0.05 left open, below the minimum 0.1" in r.message
    assert b.position(t).volume == 0.05  # type: ignore[union-attr]


def test_hedge_on_hedging_account_and_refused_on_netting() -> None:
    b = gold()
    t = buy(b, 0.2, magic=7)
    r = b.hedge(t, 0.1)
    assert r.ok and r.new_ticket == t + 1
    h = b.position(r.new_ticket)
    assert h is not None
    assert (h.direction, h.volume, h.entry_price, h.comment, h.magic) == (
        "sell",
        0.1,
        2000.0,
        f"DTMS_HEDGE_{t}",
        7,
    )
    assert (h.stop_loss, h.take_profit) == (None, None)
    assert b.hedge(999, 0.1).code is ResultCode.NOT_FOUND
    n = gold(margin_mode="netting")
    tn = buy(n, 0.2)
    refused = n.hedge(tn, 0.1)
    assert (refused.ok, refused.code) == (False, ResultCode.HEDGING_NOT_ALLOWED)
    assert len(n.positions()) == 1


def test_netting_adds_reduces_and_reverses_one_position() -> None:
    n = gold(margin_mode="netting")
    t = buy(n, 0.1)
    n.set_quote("XAUUSD", 2010.0, 2010.3, T0 + M5)
    assert n.open(OrderRequest("XAUUSD", "buy", 0.1)).new_ticket == t
    (pos,) = n.positions()
    assert (pos.volume, pos.entry_price) == (0.2, 2005.3)
    r = n.open(OrderRequest("XAUUSD", "sell", 0.3))
    assert r.ok and r.new_ticket == t + 1
    (rev,) = n.positions()
    assert (rev.direction, rev.volume, rev.entry_price) == ("sell", 0.1, 2010.0)
    assert n.realised_pnl() == 94.0  # (2010.0 - 2005.3) * 0.2 * 100
    assert n.history()[-1].reason == "netting"


def test_refusals_for_unknown_symbol_and_no_price() -> None:
    b = PaperBroker()
    r = b.open(OrderRequest("EURUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, ResultCode.MARKET_CLOSED)
    assert b.open(OrderRequest("DOGEUSD", "buy", 1.0)).code is ResultCode.REJECTED
    assert b.symbol_info("DOGEUSD") is None and b.quote("EURUSD") is None


def test_usd_base_symbol_profit_is_converted_to_the_account_currency() -> None:
    b = PaperBroker()
    b.set_quote("USDJPY", 150.0, 150.01, T0)
    t = b.open(OrderRequest("USDJPY", "buy", 1.0)).new_ticket
    b.set_quote("USDJPY", 151.01, 151.02, T0 + M5)
    assert t is not None and b.close(t).ok
    assert b.realised_pnl() == 662.21  # 1.0 × 100,000 × 1.0 JPY / 151.01


def test_calc_profit_is_what_a_deal_would_book() -> None:
    b = PaperBroker()
    assert isinstance(b, ProfitCalculator)
    assert b.calc_profit("USDJPY", "buy", 1.0, 150.01, 151.01) == 662.21  # as booked above
    assert b.calc_profit("USDJPY", "sell", 0.5, 150.0, 151.0) == pytest.approx(-331.13)
    assert b.calc_profit("XAUUSD", "sell", 0.1, 2000.3, 1995.0) == 53.0  # dollars already
    assert b.calc_profit("EURUSD", "buy", 1.0, 1.085, 1.084) == pytest.approx(-100.0)
    assert b.calc_profit("DOGEUSD", "buy", 1.0, 0.1, 0.2) is None  # not traded here


# -- stops and targets inside bars ---------------------------------------------------


def test_stop_first_when_both_are_inside_the_bar() -> None:
    b = gold()
    t = buy(b, 0.1, stop_loss=1995.0, take_profit=2005.0)
    closed = b.on_bar("XAUUSD", bar(T0, 2000.0, 2006.0, 1994.0, 2001.0))
    ((trade, reason),) = closed
    assert (trade.ticket, reason, trade.close_price) == (t, "stop_loss", 1995.0)
    assert trade.closed_at == T0 + M5
    assert trade.profit == -53.0  # (1995.0 - 2000.3) * 0.1 * 100
    assert b.positions() == []


def test_stop_fills_at_the_open_when_the_bar_gaps_through_it() -> None:
    b = gold()
    buy(b, 0.1, stop_loss=1995.0)
    ((trade, reason),) = b.on_bar("XAUUSD", bar(T0, 1990.0, 1992.0, 1985.0, 1991.0))
    assert (reason, trade.close_price) == ("stop_loss", 1990.0)


def test_target_hit_and_sell_side_uses_the_ask() -> None:
    b = gold()
    t_buy = buy(b, 0.1, take_profit=2004.0)
    t_sell = b.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2004.5)).new_ticket
    # ask high = 2004.3 + 0.3 = 2004.6 >= 2004.5: the sell's stop; bid high 2004.3 >= 2004
    closed = b.on_bar("XAUUSD", bar(T0, 2000.0, 2004.3, 1999.0, 2003.0))
    assert [(t.ticket, r, t.close_price) for t, r in closed] == [
        (t_buy, "take_profit", 2004.0),
        (t_sell, "stop_loss", 2004.5),
    ]
    q = b.quote("XAUUSD")
    assert q is not None and (q.bid, q.ask, q.time) == (2003.0, 2003.3, T0 + M5)


def test_no_hit_leaves_the_position_and_zero_spread_uses_the_default() -> None:
    b = gold()
    t = b.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2003.0)).new_ticket
    # bid high 2002.7 + default spread 0.25 = 2002.95 < 2003.0: not hit
    assert b.on_bar("XAUUSD", bar(T0, 2000.0, 2002.7, 1999.0, 2001.0, spread=0.0)) == []
    assert b.position(t) is not None  # type: ignore[arg-type]
    q = b.quote("XAUUSD")
    assert q is not None and q.ask == 2001.25


def test_nonsense_numbers_are_refused_not_raised() -> None:
    b = gold()
    t = buy(b, 0.1)
    assert b.close(t, -1.0).code is ResultCode.INVALID_VOLUME
    assert b.close(t, float("nan")).code is ResultCode.INVALID_VOLUME
    assert b.hedge(t, 0.0).code is ResultCode.INVALID_VOLUME
    bad = b.modify_sl_tp(t, -5.0, None)
    assert bad.code is ResultCode.INVALID_STOPS and "must be a price > 0" in bad.message
    assert b.modify_sl_tp(t, float("inf"), None).code is ResultCode.INVALID_STOPS
    assert b.position(t).stop_loss is None  # type: ignore[union-attr]


@pytest.mark.parametrize("in_file", [False, True], ids=["memory", "account_file"])
def test_closed_trade_is_the_newest_deal_of_the_ticket(in_file: bool, tmp_path: Path) -> None:
    """What the loop asks on every close: the ticket's last closing deal, the same as the
    newest of that ticket in the whole history, in memory and in an account file, with
    the profit of all the ticket's deals (the position's)."""
    b = gold(account_file=str(tmp_path / "account.sqlite")) if in_file else gold()
    t, other = buy(b, 0.3), buy(b, 0.1)
    assert b.closed_trade(t) is None
    b.set_quote("XAUUSD", 2002.3, 2002.6, T0 + M5)
    assert b.close(t, 0.1).ok
    assert b.close(other).ok
    assert b.closed_trade(t) == b.closed_trades()[0]
    b.set_quote("XAUUSD", 2003.3, 2003.6, T0 + 2 * M5)
    assert b.close(t).ok
    newest = [d for d in b.closed_trades() if d.ticket == t][-1]
    assert newest.volume == 0.2 and (newest.profit, b.realised_pnl()) == (60.0, 80.0 + 20.0)
    assert b.closed_trade(t) == dataclasses.replace(newest, profit=80.0)  # the partial's 20
    assert b.closed_trade(other) == b.closed_trades()[1]
    assert b.closed_trade(999) is None
    b.release()


def test_a_bar_that_ended_before_a_position_opened_does_not_close_it() -> None:
    """A live run whose loop fell behind its clock (a loaded machine) opened a position at
    the clock's time and then played it a bar that had ended before: the stop hit in that
    bar closed it before it opened (seen as closed_at < opened_at in the account)."""
    now = [T0 + 3 * M5]  # the clock is ahead of the bars still to be played
    b = PaperBroker(clock=lambda: now[0])
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    ticket = buy(b, stop_loss=1995.0)
    assert b.on_bar("XAUUSD", bar(T0, 2000.0, 2000.5, 1990.0, 1999.0)) == []  # ended at T0+M5
    assert b.on_bar("XAUUSD", bar(T0 + 2 * M5, 1999.0, 1999.5, 1990.0, 1998.0)) == []
    ((closed, reason),) = b.on_bar("XAUUSD", bar(T0 + 3 * M5, 1998.0, 1998.5, 1990.0, 1992.0))
    assert (closed.ticket, reason, closed.close_price) == (ticket, "stop_loss", 1995.0)
    assert closed.closed_at is not None and closed.closed_at >= closed.opened_at


def test_a_stop_exactly_at_the_freeze_level_is_inside_whatever_the_float_noise() -> None:
    """MetaTrader allows a change only beyond the freeze level: at it, the position is
    frozen. In floats 1.40050 - 1.40000 reads as a hair over 0.0005 and 1.10050 - 1.10000
    as a hair under, so one was refused and the other let through."""
    from hookspecs import inside_freeze

    for bid in (1.10050, 1.40050, 0.90050):
        stop = round(bid - 0.0005, 5)
        assert inside_freeze(1, bid, stop, None, 0.0005), (bid, stop)
        assert not inside_freeze(1, bid, round(stop - 0.00001, 5), None, 0.0005)
