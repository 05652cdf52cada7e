"""A live or serving host runs for months: what it keeps per action, per ticket or per
veto reason stays within a window, while the counts the report shows stay totals. A
simulated run (a replay) keeps everything its report and charts read."""

from __future__ import annotations

import logging
from typing import Any

from hookspecs import Action, ActionKind, OrderRequest, hookimpl
from hostapp import exits
from hostapp.exits import ExitManager
from hostapp.host import Host
from hostapp.loop import LIVE_WINDOW, OTHER_VETOES, VETO_REASONS, LoopStats, appended
from hostapp.testing import bars_from_closes, make_host


def _action(ticket: int) -> Action:
    return Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1.0}, "test", f"t:{ticket}")


async def test_a_live_host_keeps_the_newest_actions_and_counts_them_all(
    hostapp_broker: Any, hostapp_market: Any, hostapp_clock: Any
) -> None:
    live = make_host(hostapp_broker, hostapp_market, hostapp_clock, mode="live")
    replay = make_host(hostapp_broker, hostapp_market, hostapp_clock, mode="simulated")
    for ticket in range(1, LIVE_WINDOW + 8):
        await live.execute(_action(ticket))
        await replay.execute(_action(ticket))
    assert len(live.executed) == LIVE_WINDOW and appended(live.executed) == LIVE_WINDOW + 7
    assert [a.ticket for a, _ in live.executed][:1] == [8]  # the oldest went first
    assert len(replay.executed) == LIVE_WINDOW + 7 and isinstance(replay.executed, list)


class Defended:
    @hookimpl
    def is_defensive(self, ticket: int) -> bool:
        return True


async def test_the_exit_managers_holds_cover_the_newest_tickets_in_a_live_window(
    hostapp_factory: Any, hostapp_broker: Any, hostapp_market: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(exits, "HELD_WINDOW", 2)
    replay = hostapp_factory(plugins={"exits": ExitManager, "guard": Defended()},
                             config={"plugin": {"exits": {"partial": False}}})  # fmt: skip
    manager = replay.plugins.get("exits")
    assert manager.held_window is None  # a simulated run keeps every hold
    live = Host(hostapp_broker, hostapp_market, replay.clock, replay.config, replay.plugins,
                mode="live")  # fmt: skip
    replay.plugins.configure(live)
    assert manager.held_window == 2
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    hostapp_broker.set_price("XAUUSD", 2000.0)
    tickets = []
    for _ in range(4):
        done = hostapp_broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0))
        tickets.append(done.new_ticket)
        await live.plugins.on_trade_executed(live, hostapp_broker.position(done.new_ticket))
    hostapp_broker.set_price("XAUUSD", 2011.0)  # +1.1R: breakeven wanted, held back
    await live.plugins.manage_positions(live, live.clock.now())
    assert list(manager.held_back) == tickets[-2:]
    newest = {str(t): 1 for t in tickets[-2:]}  # no state said: not for their own
    assert manager.run_report() == {"held_defensive": newest, "held_not_own_state": newest}


def test_veto_reasons_past_a_hundred_are_counted_together(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    stats = LoopStats()
    for n in range(VETO_REASONS + 50):
        stats.veto(f"DTMS: XAUUSD has a hedged trade (ticket {n})")
    stats.veto("DTMS: XAUUSD has a hedged trade (ticket 0)")  # a known one: its own count
    assert len(stats.orders_vetoed) == VETO_REASONS + 1
    assert stats.orders_vetoed[OTHER_VETOES] == 50
    assert stats.orders_vetoed["DTMS: XAUUSD has a hedged trade (ticket 0)"] == 2
    assert sum(stats.orders_vetoed.values()) == VETO_REASONS + 51
