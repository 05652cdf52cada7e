"""DTMS actions through hookspecs.apply_action reach order_send as the exact requests."""

from __future__ import annotations

from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeMT5

from hookspecs import Action, ActionKind, ResultCode, apply_action
from hostapp.brokers.mt5 import Mt5Broker


def test_partial_close(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.30, 1990.0, sl=1980.0, magic=777)
    action = Action(ticket, ActionKind.PARTIAL_CLOSE, {"volume": 0.15}, key="k1")
    assert apply_action(broker, action).ok
    assert fake.requests == [
        {"action": 1, "symbol": "XAUUSD", "volume": 0.15, "type": 1, "position": ticket,
         "price": 2000.00, "deviation": 20, "magic": 777, "comment": "hostapp",
         "type_time": 0, "type_filling": 0}
    ]  # fmt: skip


def test_breakeven_keeps_the_take_profit(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 1, 0.30, 2010.0, sl=2020.0, tp=1950.0)
    action = Action(ticket, ActionKind.MOVE_SL_BREAKEVEN, {"stop_loss": 2010.0}, key="k2")
    assert apply_action(broker, action).ok
    assert fake.requests == [
        {"action": 6, "position": ticket, "symbol": "XAUUSD", "sl": 2010.0, "tp": 1950.0}
    ]


def test_hedge_then_close_with_hedge(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.30, 1990.0, magic=777)
    hedged = apply_action(broker, Action(ticket, ActionKind.HEDGE, {"volume": 0.3}, key="k3"))
    assert hedged.ok and hedged.new_ticket is not None
    assert fake.requests[0] == {
        "action": 1, "symbol": "XAUUSD", "volume": 0.3, "type": 1, "price": 2000.00,
        "sl": 0.0, "tp": 0.0, "deviation": 20, "magic": 777, "comment": f"DTMS_HEDGE_{ticket}",
        "type_time": 0, "type_filling": 0,
    }  # fmt: skip
    close = Action(ticket, ActionKind.CLOSE, {"hedge_ticket": hedged.new_ticket}, key="k4")
    assert apply_action(broker, close).ok
    assert [(q["position"], q["type"]) for q in fake.requests[1:]] == [
        (hedged.new_ticket, 0),
        (ticket, 1),
    ]
    assert fake.positions == {}


def test_hedge_on_netting_never_reaches_order_send() -> None:
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = fake.add_position("XAUUSD", 0, 0.30, 1990.0)
    result = apply_action(broker, Action(ticket, ActionKind.HEDGE, {"volume": 0.3}, key="k5"))
    assert result.code is ResultCode.HEDGING_NOT_ALLOWED and fake.requests == []
