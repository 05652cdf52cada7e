"""The trading loop calls the hooks in the contract's order, and reports every closed
position with the reason it closed: stop_loss/take_profit from the broker's bar check,
``action`` for a plugin's action during ``on_cycle``, ``exit`` for the exit manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hookspecs import Action, ActionKind, HostView, OrderRequest, Trade, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.exits import ExitManager
from hostapp.testing import T0, bars_from_closes

# XAUUSD closes: flat, a dip at bar 8 deep enough to hit a 5-dollar stop, then flat.
CLOSES = [2000.0] * 8 + [1990.0] + [2000.0] * 31


class Script:
    """Strategy + recorder: proposes scripted orders and records every hook it hears."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.orders: dict[int, list[OrderRequest]] = {}  # cycle index -> orders
        self.close_on_cycle: dict[int, int] = {}  # cycle index -> order-cycle whose trade to close
        self.tickets: dict[int, int] = {}  # order cycle -> ticket
        self.cycle = 0

    @hookimpl
    def startup(self) -> None:
        self.events.append(("startup",))

    @hookimpl
    def propose_orders(self, symbol: str, now: datetime) -> list[OrderRequest]:
        self.events.append(("propose_orders", self.cycle, symbol))
        return self.orders.get(self.cycle, [])

    @hookimpl
    def allow_order(self, order: OrderRequest) -> str | None:
        self.events.append(("allow_order", self.cycle, order.comment))
        return "not this one" if order.comment == "veto" else None

    @hookimpl
    def on_trade_executed(self, trade: Trade) -> None:
        self.tickets[self.cycle] = trade.ticket
        self.events.append(("on_trade_executed", self.cycle, trade.ticket, trade.stop_loss))

    @hookimpl
    async def on_cycle(self, host: HostView, now: datetime) -> None:
        self.events.append(("on_cycle", self.cycle))
        which = self.close_on_cycle.get(self.cycle)
        if which is not None:
            ticket = self.tickets[which]
            await host.execute(Action(ticket, ActionKind.CLOSE, reason="test", key=f"t{ticket}"))
        self.cycle += 1

    @hookimpl
    def on_trade_closed(self, trade: Trade, reason: str) -> None:
        self.events.append(("on_trade_closed", self.cycle, trade.ticket, reason, trade.close_price))

    @hookimpl
    def shutdown(self) -> None:
        self.events.append(("shutdown",))


class ClosingExits(ExitManager):
    """An exit manager that closes every trade older than 3 cycles (to see ``exit``)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.age: dict[int, int] = {}

    @hookimpl
    async def manage_positions(self, host: HostView, now: datetime) -> None:
        for trade in host.broker.positions():
            self.age[trade.ticket] = self.age.get(trade.ticket, 0) + 1
            if self.age[trade.ticket] > 3:
                await host.execute(
                    Action(trade.ticket, ActionKind.CLOSE, reason="exit", key=f"x{trade.ticket}")
                )


def _buy(stop: float, comment: str = "") -> OrderRequest:
    return OrderRequest("XAUUSD", "buy", 0.1, stop_loss=stop, take_profit=2100.0, comment=comment)


def _app(script: Script, exits: Any) -> Any:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}})
    return build_sim_app(
        config,
        {"XAUUSD": bars_from_closes(CLOSES)},
        base_timeframe="M5",
        builtins={"script": script, "exits": exits},
        entry_points=[],
        env={},
    )


async def _run(script: Script, exits: Any) -> Any:
    app = _app(script, exits)
    await app.plugins.startup(app.host)
    stats = await app.loop.run_replay(app.feed)
    await app.plugins.shutdown(app.host)
    return app, stats


async def test_hook_order_and_close_reasons() -> None:
    script = Script()
    script.orders = {
        2: [_buy(1995.0), _buy(1995.0, "veto")],  # stopped out by the dip at bar 8
        12: [_buy(1950.0)],  # closed by a plugin action on cycle 14
    }
    script.close_on_cycle = {14: 12}
    _app, stats = await _run(script, ExitManager())
    ev = script.events
    assert ev[0] == ("startup",) and ev[-1] == ("shutdown",)
    first, second = script.tickets[2], script.tickets[12]
    assert [e for e in ev if len(e) > 1 and e[1] == 2] == [
        ("propose_orders", 2, "XAUUSD"),
        ("allow_order", 2, ""),
        ("on_trade_executed", 2, first, 1995.0),
        ("allow_order", 2, "veto"),
        ("on_cycle", 2),
    ]
    closes = [e[2:4] for e in ev if e[0] == "on_trade_closed"]
    assert closes == [(first, "stop_loss"), (second, "action")]  # each reported once
    assert stats.orders_vetoed == {"script: not this one": 1}
    assert stats.cycles == len(CLOSES)
    assert [e[1] for e in ev if e[0] == "on_cycle"] == list(range(len(CLOSES)))


async def test_a_refused_order_is_logged_under_its_own_symbol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Proposed while the loop asked about XAUUSD, for a symbol the broker lacks."""
    script = Script()
    script.orders = {2: [OrderRequest("NOPE", "buy", 0.1)]}
    with caplog.at_level("WARNING"):
        _app, stats = await _run(script, ExitManager())
    assert stats.orders_rejected == 1
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert line.startswith("order buy NOPE from script refused: ")


async def test_stop_loss_reported_before_new_orders_of_the_same_cycle() -> None:
    script = Script()
    script.orders = {2: [_buy(1995.0)], 8: [_buy(1950.0)]}
    _app, _ = await _run(script, ExitManager())
    ev = script.events
    first = script.tickets[2]
    i_closed = ev.index(("on_trade_closed", 8, first, "stop_loss", 1995.0))
    # the bar of cycle 8 closed the trade, then that cycle proposed, then on_cycle ran
    assert ev[i_closed + 1] == ("propose_orders", 8, "XAUUSD")
    assert ev[i_closed + 2][0] == "allow_order"
    assert ev[i_closed + 3][0] == "on_trade_executed"
    assert ev[i_closed + 4] == ("on_cycle", 8)


async def test_action_and_exit_reasons() -> None:
    script = Script()
    script.orders = {10: [_buy(1950.0)], 20: [_buy(1950.0)]}
    script.close_on_cycle = {12: 10}  # 2 cycles after opening: before the exits' threshold
    app, stats = await _run(script, ClosingExits())
    closed = {e[2]: e[3] for e in script.events if e[0] == "on_trade_closed"}
    assert closed == {script.tickets[10]: "action", script.tickets[20]: "exit"}
    # the trade reported is the broker's closed record: it carries the close price
    assert all(t.close_price is not None for _, t, _ in stats.closes)
    kinds = [a.kind for a, r in app.host.executed if r.ok]
    assert kinds == [ActionKind.CLOSE, ActionKind.CLOSE]


async def test_positions_open_before_the_first_cycle_are_managed_and_reported() -> None:
    """A restart after a crash (a MetaTrader account, a resumed paper account): the
    positions already open were never given to ``manage_positions``, nor their closes
    reported, until the host opened a trade of its own."""
    script = Script()
    exits = ClosingExits()
    app = _app(script, exits)
    app.broker.set_quote("XAUUSD", 2000.0, 2000.2, T0)
    opened = app.broker.open(_buy(1950.0))  # before the loop: from the run before
    assert opened.ok and opened.new_ticket is not None
    await app.plugins.startup(app.host)
    stats = await app.loop.run_replay(app.feed)
    await app.plugins.shutdown(app.host)
    assert exits.age[opened.new_ticket] == 4  # watched from the first cycle, closed at 4
    closes = [(e[2], e[3]) for e in script.events if e[0] == "on_trade_closed"]
    assert closes == [(opened.new_ticket, "exit")]
    assert [t.ticket for _, t, _ in stats.closes] == [opened.new_ticket]
    # counted as the run's summary says it: open when the run started, closed during it
    assert (stats.open_at_start, stats.carried_closes) == ({opened.new_ticket}, 1)
    assert stats.carried_profit == stats.closes[0][1].profit
