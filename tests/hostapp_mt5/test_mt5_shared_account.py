"""An executed open or hedge reports the position ITS order opened, on an account another
program trades with the same magic number: the order's deals name it
(``history_deals_get(ticket=<order>)``, whose ticket is an order's), never the newest
position of that side and magic, nor the position of some older order whose number
happens to equal this order's deal's."""

from __future__ import annotations

import pytest
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import Action, ActionKind, OrderRequest, apply_action
from hostapp.brokers.mt5 import Mt5Broker


def _bot_opens(type_: int) -> object:
    """Another program (same magic) opens a position right after our order executed."""

    def act(fake: FakeMT5) -> None:
        fake.add_position("XAUUSD", type_, 0.5, 2000.0, magic=777, comment="bot")

    return act


def _with_comment(fake: FakeMT5, comment: str) -> int:
    (ticket,) = [t for t, p in fake.positions.items() if p.comment == comment]
    return ticket


@pytest.mark.parametrize("lag", [0.0, 5.0], ids=["history synced", "history lagging"])
def test_an_open_is_not_taken_for_a_position_another_program_opened_meanwhile(
    broker: Mt5Broker, fake: FakeMT5, lag: float
) -> None:
    fake.history_lag = lag
    fake.after_send.append(_bot_opens(0))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, comment="mine"))
    assert r.ok and r.new_ticket == _with_comment(fake, "mine"), r.message
    assert r.new_ticket != _with_comment(fake, "bot")


@pytest.mark.parametrize("lag", [0.0, 5.0], ids=["history synced", "history lagging"])
def test_a_hedge_closed_with_its_trade_is_ours_not_another_programs(
    broker: Mt5Broker, fake: FakeMT5, lag: float
) -> None:
    fake.history_lag = lag
    trade = fake.add_position("XAUUSD", 0, 0.3, 1990.0, magic=777)
    fake.after_send.append(_bot_opens(1))
    h = apply_action(broker, Action(trade, ActionKind.HEDGE, {"volume": 0.3}, key="h"))
    assert h.ok and h.new_ticket == _with_comment(fake, f"DTMS_HEDGE_{trade}"), h.message
    fake.advance(lag)
    c = apply_action(
        broker, Action(trade, ActionKind.CLOSE, {"hedge_ticket": h.new_ticket}, key="c")
    )
    assert c.ok, c.message
    assert [p.comment for p in fake.positions.values()] == ["bot"]  # the bot's is untouched


@pytest.mark.parametrize("kind", ["open", "hedge"])
def test_a_deal_numbered_as_an_older_order_does_not_name_that_orders_position(
    broker: Mt5Broker, fake: FakeMT5, kind: str
) -> None:
    """Orders and deals are numbered apart on a server: this order's deal may carry the
    number of an older order, whose deals name the older position."""
    older = broker.open(OrderRequest("XAUUSD", "buy", 0.2, comment="older"))
    assert older.ok and older.new_ticket is not None
    fake._deal_ticket = fake.deals[-1].order - 1  # the next deal gets the older order's number
    if kind == "open":
        r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, comment="newer"))
        mine = _with_comment(fake, "newer")
    else:
        r = broker.hedge(older.new_ticket, 0.2)
        mine = _with_comment(fake, f"DTMS_HEDGE_{older.new_ticket}")
    assert fake.deals[-1].ticket == fake.deals[-2].order  # the numbers did meet
    assert r.ok and r.new_ticket == mine != older.new_ticket, r.message


def test_a_placed_order_found_before_its_deals_is_the_position_it_named(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """10008: the server named the order and executes it later; while the history lags,
    the position of that order is ours, not an older one of the same lots another
    program opened meanwhile."""
    fake.history_lag = 30.0
    fake.faults.append(Fault(10008, execute=True, delay=1.0))
    fake.after_send.append(lambda f: f.add_position("XAUUSD", 0, 0.1, 2000.0, magic=777))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, comment="mine"))
    assert r.ok and r.new_ticket == _with_comment(fake, "mine"), r.message
