"""A plugin's action taken as it hears of a close (DTMS closing its hedge when the hedged
trade's stop is hit) is its own: the position it closed is reported ``action``, to the
plugins and in the summary, as the same close made in ``on_cycle`` is. Before, the loop
found the hedge gone after the next ``on_cycle``, in which no plugin acted, and said
``external`` (a replay's "closes by reason … external 5" of five close_hedge actions)."""

from __future__ import annotations

from typing import Any

from support.gold_replay import BuyOnce, gold_replay

from hookspecs import Action, ActionKind, HostView, Trade, hookimpl


class Hedger:
    """Hedges each trade in the cycle after it opens; closes the hedge when the trade closes."""

    def __init__(self) -> None:
        self.hedged: dict[int, int] = {}  # trade -> its hedge, while both are open
        self.hedges: list[int] = []
        self.heard: dict[int, str] = {}  # ticket -> the reason on_trade_closed gave

    @hookimpl
    def on_trade_executed(self, trade: Trade) -> None:
        self.hedged[trade.ticket] = 0  # hedged at the next on_cycle, as DTMS hedges

    @hookimpl
    async def on_cycle(self, host: HostView) -> None:
        for ticket in [t for t, hedge in self.hedged.items() if not hedge]:
            result = await host.execute(
                Action(ticket, ActionKind.HEDGE, {"volume": 0.1}, key=f"h{ticket}")
            )
            assert result.ok and result.new_ticket is not None
            self.hedged[ticket] = result.new_ticket
            self.hedges.append(result.new_ticket)

    @hookimpl
    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        self.heard[trade.ticket] = reason
        hedge = self.hedged.pop(trade.ticket, None)
        if hedge is not None:
            params = {"hedge_ticket": hedge}
            await host.execute(Action(trade.ticket, ActionKind.CLOSE_HEDGE, params, key="c"))


async def test_a_hedge_closed_on_hearing_its_trade_stopped_out_is_the_plugins_action() -> None:
    from hostapp.driving import run_summary
    from hostapp.report import summary_table

    closes = [2000.0] * 20 + [1995.0, 1985.0] + [1985.0] * 5  # the buy's stop, 1990, is hit
    hedger = Hedger()
    app: Any = gold_replay(closes, buy_once=BuyOnce(), hedger=hedger)
    stats = await app.loop.run_replay(app.feed)
    (trade,) = [t for _, t, _ in stats.entries]
    (hedge,) = hedger.hedges
    assert hedger.heard == {trade.ticket: "stop_loss", hedge: "action"}
    assert {t.ticket: why for _, t, why in stats.closes} == hedger.heard
    app.plugin_reports = app.plugins.run_report(app.host)
    table = summary_table(run_summary(app, stats, {}))
    assert "external" not in table
