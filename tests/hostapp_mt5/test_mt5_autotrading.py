"""Algo Trading turned off in the terminal mid-run: every order fails with 10027. Said once
an episode, with what to press, and again when it is over; the summary counts it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hostapp_mt5.mt5_helpers import live_app, rates_row
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import OrderRequest, ResultCode, hookimpl
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.driving import drive, run_summary

PRESS = 'press the "Algo Trading" button'


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the broker logged of Algo Trading (the loop logs the refusals themselves)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hostapp.brokers.mt5_link" and "10027" in r.getMessage()
    ]


def test_orders_refused_with_10027_say_it_once_with_the_hint(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    fake.trade_allowed = False  # the button, pressed after start-up
    with caplog.at_level(logging.INFO):
        results = [broker.open(OrderRequest("XAUUSD", "buy", 0.1)) for _ in range(3)]
        ticket = fake.add_position("XAUUSD", 0, 0.1, 1990.0, magic=777)
        results.append(broker.close(ticket))
    assert {r.code for r in results} == {ResultCode.TRADING_DISABLED} and fake.positions == {
        ticket: fake.positions[ticket]
    }
    assert all(
        r.message.endswith("10027 TRADE_RETCODE_CLIENT_DISABLES_AT (AutoTrading disabled by "
                           "client); last_error=(1, 'Success'); AutoTrading is off in the terminal")
        for r in results
    )  # fmt: skip
    (said,) = _said(caplog)
    assert said.startswith("AutoTrading is off in the MetaTrader 5 terminal") and PRESS in said
    (note,) = broker.run_notes
    assert note.startswith("AutoTrading was still off in the terminal at the end, since ")
    assert ": 4 orders and actions refused with 10027 since; press" in note


def test_the_button_seen_on_again_ends_the_episode(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        fake.trade_allowed = False
        broker.watch_connection()  # a cycle sees it off: said before any order
        refused = broker.open(OrderRequest("XAUUSD", "buy", 0.1)).code
        assert refused is ResultCode.TRADING_DISABLED
        broker.watch_connection()
        fake.advance(90)
        fake.trade_allowed = True
        broker.watch_connection()
        assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    said = _said(caplog)
    assert len(said) == 2 and said[0].startswith("AutoTrading is off")
    assert said[1] == (
        "AutoTrading is on again in the MetaTrader 5 terminal, after 1 min 30 s (1 order or "
        "action refused with 10027 meanwhile)"
    )
    assert broker.run_notes == [
        "AutoTrading was off in the terminal 1 time, 1 min 30 s in all: 1 order or action "
        "was refused with 10027 meanwhile"
    ]


def test_an_order_that_goes_through_ends_an_episode_the_button_never_showed(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    """terminal_info said trading is allowed all along (the refusal came from elsewhere):
    the words said the button was off and told the trader to press it, a button that was
    on. They now say it is not the button; the episode lasts until an order is executed
    (a cycle seeing the button on, as it was all along, ends nothing)."""
    fake.faults.extend([Fault(10027), Fault(None, error=(-8, "Algo trading disabled"))])
    with caplog.at_level(logging.INFO):
        first = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
        broker.watch_connection()
        second = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
        (note,) = broker.run_notes
        assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert first.code is second.code is ResultCode.TRADING_DISABLED  # 10027, then -8
    assert first.message.endswith("; the terminal's Algo Trading button is on: not the button")
    assert second.message.endswith("; the terminal's Algo Trading button is on: not the button")
    said = _said(caplog)
    assert not any(PRESS in s for s in said)
    assert [s.split(",")[0] for s in said] == [
        "orders are refused with 10027 (AutoTrading disabled by client) while the terminal's "
        "Algo Trading button is on",
        "orders go through the MetaTrader 5 terminal again",
    ]
    assert "(2 orders and actions refused with 10027 meanwhile)" in said[1]
    assert note.startswith("orders were still refused with 10027 at the end, since ")
    assert "Disable algorithmic trading via external Python API" in note and PRESS not in note
    assert broker.run_notes == [
        "orders were refused with 10027 while the terminal's Algo Trading button was on 1 "
        "time, 0 s in all: 2 orders and actions were refused with 10027 meanwhile"
    ]


class KeepsBuying:
    """Proposes a buy on every new bar; the button goes off after cycle 1."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.cycles = 0
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        return [OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2050.0)]

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 1:
            self.fake.trade_allowed = False
        if self.cycles < 5:
            self.fake.rates[("XAUUSD", 5)].append(rates_row(6 + self.cycles))  # a new bar
        else:
            self.stop()


async def test_a_live_run_says_it_once_and_the_summary_counts_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5()
    plugin = KeepsBuying(fake)
    app = live_app(fake, {"buyer": plugin})
    plugin.stop = app.loop.request_stop
    with caplog.at_level(logging.INFO):
        stats = await drive(app, progress=None)
    assert stats.orders_rejected == 4 and len(fake.positions) == 1
    (said,) = _said(caplog)
    assert PRESS in said and sum(PRESS in r.getMessage() for r in caplog.records) == 1
    notes = run_summary(app, stats, {"mode": "live"})["host_notes"]
    (note,) = [n for n in notes if n.startswith("AutoTrading was still off")]
    assert "4 orders and actions refused with 10027 since" in note
