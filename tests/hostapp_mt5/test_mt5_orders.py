"""Requests reach order_send complete and within the symbol's rules (exact dicts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import Action, ActionKind, OrderRequest, OwnMagic, ResultCode, apply_action
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.brokers.paper import PaperBroker, PaperSettings


def test_market_open_sends_a_complete_request(broker: Mt5Broker, fake: FakeMT5) -> None:
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.004, take_profit=2050.0))
    assert r.ok, r.message
    assert fake.requests == [
        {"action": 1, "symbol": "XAUUSD", "volume": 0.1, "type": 0, "price": 2000.30,
         "sl": 1990.0, "tp": 2050.0, "deviation": 20, "magic": 777, "comment": "hostapp",
         "type_time": 0, "type_filling": 0}
    ]  # fmt: skip
    (trade,) = broker.positions()
    assert (trade.ticket, trade.direction, trade.stop_loss) == (r.new_ticket, "buy", 1990.0)


def test_sell_opens_at_bid_with_order_magic_and_comment(broker: Mt5Broker, fake: FakeMT5) -> None:
    order = OrderRequest("XAUUSD", "sell", 0.2, comment="x" * 40, magic=42)
    assert broker.open(order).ok
    sent = fake.requests[0]
    assert (sent["type"], sent["price"], sent["magic"]) == (1, 2000.00, 42)
    assert sent["comment"] == "x" * 31  # MetaTrader refuses longer comments


def test_invalid_fill_retries_next_policy_once_and_caches_it(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.symbols["XAUUSD"].filling_mode = 3
    fake.faults.append(Fault(10030))  # e.g. the broker's real policy differs from its mask
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert [q["type_filling"] for q in fake.requests] == [0, 1, 1]


def test_invalid_fill_everywhere_is_a_failure_naming_the_code(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.faults.extend([Fault(10030), Fault(10030), Fault(10030)])
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert not r.ok and r.code is ResultCode.REJECTED
    assert "TRADE_RETCODE_INVALID_FILL" in r.message and "last_error=(1, 'Success')" in r.message
    assert [q["type_filling"] for q in fake.requests] == [0, 1, 2]  # Market: RETURN last


def test_a_market_execution_symbol_without_filling_flags_trades_with_return(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """filling_mode 0 names neither FOK nor IOC: both get 10030, and RETURN, valid on
    Market execution, fills; it is remembered for the symbol."""
    fake.symbols["XAUUSD"].filling_mode = 0
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert [q["type_filling"] for q in fake.requests] == [0, 1, 2, 2]


def test_volume_is_floored_to_step_within_min_and_max(broker: Mt5Broker, fake: FakeMT5) -> None:
    """Floored to the step; below volume_min or above volume_max refused unsent, as the
    paper broker refuses them (an open of 7 lots is not quietly made 0.5)."""
    fake.symbols["XAUUSD"].volume_step = 0.1
    fake.symbols["XAUUSD"].volume_min = 0.1
    fake.symbols["XAUUSD"].volume_max = 0.5
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.37)).ok
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.54)).ok
    assert [q["volume"] for q in fake.requests] == [0.3, 0.5]
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.09))
    assert r.code is ResultCode.INVALID_VOLUME and "volume_min" in r.message
    r = broker.open(OrderRequest("XAUUSD", "buy", 7.0))
    assert (r.ok, r.code, r.filled_volume) == (False, ResultCode.INVALID_VOLUME, None)
    assert "above the symbol's volume_max 0.5" in r.message
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("direction", "sl", "tp"),
    [("buy", 1999.80, None), ("buy", 2001.0, None), ("sell", 2000.50, None), ("buy", None, 2000.2)],
)
def test_stops_level_and_side_are_checked_before_sending(
    broker: Mt5Broker, fake: FakeMT5, direction: str, sl: float | None, tp: float | None
) -> None:
    # stops level 50 points = 0.50; a buy closes at bid 2000.00, a sell at ask 2000.30
    r = broker.open(OrderRequest("XAUUSD", direction, 0.1, stop_loss=sl, take_profit=tp))  # type: ignore[arg-type]
    assert r.code is ResultCode.INVALID_STOPS
    assert fake.requests == []


def test_stop_exactly_at_the_stops_level_is_accepted(broker: Mt5Broker, fake: FakeMT5) -> None:
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1999.50)).ok
    assert broker.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2000.80)).ok


def test_modify_resends_the_other_level(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1990.0, tp=2050.0)
    r = broker.modify_sl_tp(ticket, 1995.004, 2050.0)
    assert r.ok and r.code is ResultCode.OK, r.message
    assert fake.requests == [
        {"action": 6, "position": ticket, "symbol": "XAUUSD", "sl": 1995.0, "tp": 2050.0}
    ]
    assert broker.position(ticket).stop_loss == 1995.0  # type: ignore[union-attr]


def test_a_stop_change_names_no_new_position_even_after_a_re_open(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """A stop change opens nothing: its result names no new ticket, also once the server
    has re-opened the position under another ticket (the run's report would otherwise
    count the stop move as having opened the re-opened ticket)."""
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1990.0)
    fake.reopen(ticket)
    r = broker.modify_sl_tp(ticket, 1992.0, None)
    assert r.ok and r.new_ticket is None, r


def test_modify_removing_a_level_sends_zero(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 1, 0.1, 2005.0, sl=2010.0, tp=1950.0)
    assert broker.modify_sl_tp(ticket, 2008.0, None).ok
    assert fake.requests[0]["tp"] == 0.0
    assert broker.position(ticket).take_profit is None  # type: ignore[union-attr]


def test_no_changes_is_a_success_for_a_modify(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1990.0)
    r = broker.modify_sl_tp(ticket, 1990.0, None)
    assert (r.ok, r.code) == (True, ResultCode.NO_CHANGES)
    assert "TRADE_RETCODE_NO_CHANGES" in r.message


def test_freeze_level_refuses_modify_and_close_near_a_level(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.symbols["XAUUSD"].freeze_level = 100  # 1.00 around the price
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1999.20)
    assert broker.modify_sl_tp(ticket, 1998.0, None).code is ResultCode.FROZEN
    assert broker.close(ticket).code is ResultCode.FROZEN
    assert fake.requests == []
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2000.30, 2000.60
    assert broker.close(ticket).ok  # 1.10 away now: strictly beyond the freeze level


def test_a_stop_asked_where_it_already_is_inside_the_freeze_level_is_no_change(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """A stop set, then asked again at the same level while price sits inside the freeze
    level: each repeat was refused ``frozen`` and counted as a failed action (the MT5
    probe: 25 in a run). Nothing changes, so nothing is refused: ``no_changes``, a
    success, and no request sent."""
    fake.symbols["XAUUSD"].freeze_level = 100  # 1.00 around the price
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1999.20)
    done = broker.modify_sl_tp(ticket, 1999.20, None)
    assert (done.ok, done.code) == (True, ResultCode.NO_CHANGES)
    assert fake.requests == []
    assert broker.modify_sl_tp(ticket, 1998.0, None).code is ResultCode.FROZEN  # a change


def test_partial_close_is_an_opposite_deal_on_the_position(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = fake.add_position("XAUUSD", 1, 0.5, 2010.0, magic=9)
    r = broker.close(ticket, 0.27)
    assert r.ok, r.message
    assert fake.requests == [
        {"action": 1, "symbol": "XAUUSD", "volume": 0.27, "type": 0, "position": ticket,
         "price": 2000.30, "deviation": 20, "magic": 777, "comment": "hostapp",
         "type_time": 0, "type_filling": 0}
    ]  # fmt: skip
    assert broker.position(ticket).volume == pytest.approx(0.23)  # type: ignore[union-attr]


def test_partial_close_and_hedge_below_volume_min_are_refused_unsent_in_one_wording(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """A defensive partial close or hedge floored below the symbol's minimum is refused
    before anything reaches the terminal, in the words an open gets."""
    fake.symbols["XAUUSD"].volume_step = 0.1
    fake.symbols["XAUUSD"].volume_min = 0.1
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0, magic=777)
    closing = broker.close(ticket, 0.05)
    hedging = broker.hedge(ticket, 0.05)
    for r in (closing, hedging):
        assert r.code is ResultCode.INVALID_VOLUME
        assert "below the symbol's volume_min 0.1 once floored to volume_step 0.1" in r.message
    assert closing.message.startswith(f"close {ticket} 0.05: ")
    assert fake.requests == []
    assert broker.position(ticket).volume == pytest.approx(0.5)  # type: ignore[union-attr]


def test_full_close_larger_than_volume_max_takes_several_deals(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.symbols["XAUUSD"].volume_max = 1.0
    ticket = fake.add_position("XAUUSD", 0, 2.5, 1990.0)
    assert broker.close(ticket).ok
    assert [q["volume"] for q in fake.requests] == [1.0, 1.0, 0.5]
    assert broker.position(ticket) is None


def test_close_of_a_missing_position_is_not_found(broker: Mt5Broker, fake: FakeMT5) -> None:
    assert broker.close(123).code is ResultCode.NOT_FOUND
    assert broker.modify_sl_tp(123, 1.0, None).code is ResultCode.NOT_FOUND


def test_hedge_opens_an_opposite_position_without_position_field(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.4, 1990.0, sl=1980.0, magic=5)
    r = broker.hedge(ticket, 0.4)
    assert r.ok and r.new_ticket not in (None, ticket)
    assert fake.requests == [
        {"action": 1, "symbol": "XAUUSD", "volume": 0.4, "type": 1, "price": 2000.00,
         "sl": 0.0, "tp": 0.0, "deviation": 20, "magic": 5, "comment": f"DTMS_HEDGE_{ticket}",
         "type_time": 0, "type_filling": 0}
    ]  # fmt: skip
    assert {t.direction for t in broker.positions()} == {"buy", "sell"}


@pytest.mark.parametrize(("magic", "sent"), [(5, 5), (0, 777)])
def test_hedges_and_re_adds_carry_the_magic_of_the_trade_they_defend(
    broker: Mt5Broker, fake: FakeMT5, magic: int, sent: int
) -> None:
    """docs/mt5.md, "A DTMS server on a MetaTrader account": the trade's magic (the host's
    only for a position without one); the comment tells them from the trade's strategy's."""
    ticket = fake.add_position("XAUUSD", 0, 0.4, 1990.0, magic=magic)
    for kind, params in ((ActionKind.HEDGE, {"volume": 0.2}), (ActionKind.RE_ADD, {"volume": 0.1})):
        assert apply_action(broker, Action(ticket, kind, params, key=kind.value)).ok
    assert [(q["magic"], q["comment"]) for q in fake.requests] == [
        (sent, f"DTMS_HEDGE_{ticket}"),
        (sent, f"DTMS_READD_{ticket}"),
    ]
    assert broker.close(ticket).ok and fake.requests[-1]["magic"] == 777  # a close: the host's


def test_hedge_is_refused_on_a_netting_account_without_sending() -> None:
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = fake.add_position("XAUUSD", 0, 0.4, 1990.0)
    r = broker.hedge(ticket, 0.4)
    assert r.code is ResultCode.HEDGING_NOT_ALLOWED
    assert fake.requests == []


def test_netting_open_reports_the_net_positions_ticket() -> None:
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    first = broker.open(OrderRequest("XAUUSD", "buy", 0.3))
    second = broker.open(OrderRequest("XAUUSD", "sell", 0.1))
    assert first.new_ticket == second.new_ticket
    (trade,) = broker.positions()
    assert (trade.direction, trade.volume) == ("buy", pytest.approx(0.2))


def test_netting_add_on_keeps_the_levels_it_does_not_name_as_the_paper_broker_does() -> None:
    """An add-on order with a stop and no target: the server takes a grown netting
    position's levels from the order, so the position's target is sent in its place; the
    results say added to / reduced / reversed, as the paper broker's do."""
    fake = make_fake(margin_mode=0)
    mt5 = connect(fake, time_symbols=("XAUUSD",))
    paper = PaperBroker(settings=PaperSettings(margin_mode="netting"))
    paper.set_quote("XAUUSD", 2000.0, 2000.3, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    said: dict[str, list[str]] = {"mt5": [], "paper": []}
    effects: dict[str, list[str | None]] = {"mt5": [], "paper": []}
    for name, broker in (("mt5", mt5), ("paper", paper)):
        for order in (
            OrderRequest("XAUUSD", "buy", 0.3, stop_loss=1990.0, take_profit=2010.0),
            OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1991.0),
            OrderRequest("XAUUSD", "sell", 0.1),
        ):
            r = broker.open(order)
            assert r.ok, r
            said[name].append(r.message)
            effects[name].append(r.netting)
        (trade,) = broker.positions()
        assert (trade.volume, trade.stop_loss, trade.take_profit) == (
            pytest.approx(0.3),
            1991.0,
            2010.0,
        ), name
        r = broker.open(OrderRequest("XAUUSD", "sell", 0.5))
        said[name].append(r.message)
        effects[name].append(r.netting)
        (trade,) = broker.positions()
        assert (trade.direction, trade.stop_loss, trade.take_profit) == ("sell", None, None)
        assert r.new_ticket == trade.ticket  # the reversal's new side
        r = broker.open(OrderRequest("XAUUSD", "buy", 0.2))
        assert (r.ok, r.netting, r.new_ticket, broker.positions()) == (True, "closed", None, [])
    for words in said.values():
        said_what = zip(["", "added", "reduced", "reversed"], words, strict=True)
        assert all(word in message for word, message in said_what), words
    for name, seen in effects.items():  # what the order did, as data
        assert seen == [None, "added", "reduced", "reversed"], name
    assert fake.requests[1]["tp"] == 2010.0


def test_unknown_symbol_is_refused(broker: Mt5Broker, fake: FakeMT5) -> None:
    r = broker.open(OrderRequest("NOPE", "buy", 0.1))
    assert r.code is ResultCode.REJECTED and "Not found" in r.message


def test_symbol_outside_market_watch_is_selected(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.symbols["EURUSD"].visible = False
    assert broker.open(OrderRequest("EURUSD", "buy", 0.1)).ok
    assert "symbol_select" in fake.calls
    assert fake.requests[0]["type_filling"] == 1  # EURUSD allows IOC only


def test_symbol_info_levels_in_price_units(broker: Mt5Broker) -> None:
    info = broker.symbol_info("XAUUSD")
    assert info is not None
    assert (info.digits, info.stops_level, info.volume_step) == (2, pytest.approx(0.5), 0.01)
    assert broker.symbol_info("NOPE") is None


def test_open_refused_when_positions_cannot_be_read(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.fail_positions_get = 1
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert not r.ok and "not sent" in r.message and fake.requests == []


def test_implements_the_broker_protocol(broker: Mt5Broker) -> None:
    from hookspecs import Broker

    assert isinstance(broker, Broker)
    account = broker.account()
    assert (account.login, account.currency, account.hedging) == (5001, "USD", True)


def test_the_broker_says_the_magic_its_orders_carry(broker: Mt5Broker, fake: FakeMT5) -> None:
    """``hookspecs.OwnMagic``: the magic an order without one is sent with is the one the
    broker says, so a plugin tells the host's positions from those opened by hand."""
    assert isinstance(broker, OwnMagic) and broker.magic == 777
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    (trade,) = broker.positions()
    assert (trade.ticket, trade.magic) == (r.new_ticket, broker.magic)
    assert not isinstance(PaperBroker(settings=PaperSettings()), OwnMagic)  # marks none
