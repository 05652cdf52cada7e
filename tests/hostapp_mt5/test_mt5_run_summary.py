"""What a live run on MetaTrader says at its end: every position still open, named, with
the ones left without their trade and the ones it did not open; the actions that failed,
by kind and why."""

from __future__ import annotations

from typing import Any

from hostapp_mt5.mt5_helpers import live_app
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import Action, ActionKind, OrderRequest, ResultCode, hookimpl
from hostapp.driving import drive, run_summary
from hostapp.report import summary_table


def _rows(lines: list[str]) -> list[str]:
    """The table's rows with their padding squeezed."""
    return [" ".join(line.split()) for line in lines]


class HedgesThenCloses:
    """Buys once; at cycle 2 hedges the trade and asks a stop change the server refuses
    (10019); at cycle 3 closes the trade itself, leaving its hedge; stops at cycle 5."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.cycles = 0
        self.ticket = 0
        self.hedge: int | None = None
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.ticket:
            return []
        return [OrderRequest("XAUUSD", "buy", 0.3, stop_loss=1990.0, take_profit=2050.0)]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.ticket = self.ticket or trade.ticket

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        if self.cycles == 2:
            hedged = await host.execute(
                Action(self.ticket, ActionKind.HEDGE, {"volume": 0.1}, key="h", source="d")
            )
            self.hedge = hedged.new_ticket
            self.fake.faults.append(Fault(10019))  # no money
            tighten = Action(
                self.ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, key="t", source="d"
            )
            assert not (await host.execute(tighten)).ok
        elif self.cycles == 3:
            assert (await host.execute(Action(self.ticket, ActionKind.CLOSE, key="c"))).ok
        elif self.cycles == 5:
            self.stop()


async def test_every_position_open_at_the_end_is_counted_and_named() -> None:
    """A hedge whose trade closed and a position opened by hand before the run are open
    at the end: the summary said 'still open at the end 0' (it counted trades only)."""
    fake = FakeMT5()
    plugin = HedgesThenCloses(fake)
    app = live_app(fake, {"defender": plugin})
    by_hand = fake.add_position("XAUUSD", 0, 0.5, 2000.0, magic=0, comment="by hand")
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    assert plugin.hedge in fake.positions and plugin.ticket not in fake.positions
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["positions_open_at_end"] == 2 == len(fake.positions)
    rows = {r["ticket"]: r for r in summary["positions_at_end"]}
    assert rows[plugin.hedge]["opened_by_run"] and rows[plugin.hedge]["for_trade"] == plugin.ticket
    assert rows[plugin.hedge]["for_trade_open"] is False
    assert not rows[by_hand]["opened_by_run"] and rows[by_hand]["for_trade"] is None
    lines = summary_table(summary).splitlines()
    assert "positions open at the end 2" in _rows(lines)
    (note,) = [line for line in lines if "open at the end:" in line]
    assert note == (
        f"note: 2 positions open at the end: {by_hand} buy 0.5 XAUUSD (by hand), "
        f"{plugin.hedge} sell 0.1 XAUUSD (DTMS_HEDGE_{plugin.ticket}); opened for a trade "
        f"that has closed: {plugin.hedge} (for {plugin.ticket}); not opened by this run as "
        "far as it knows (open before it started, opened by hand or by another program, or "
        f"an order of unknown outcome that executed later): {by_hand}"
    )


async def test_failed_actions_are_in_the_table_by_kind_and_why() -> None:
    """summary.json had actions_failed while the printed table showed only the actions
    that went through, and no note."""
    fake = FakeMT5()
    plugin = HedgesThenCloses(fake)
    app = live_app(fake, {"defender": plugin})
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["actions_failed"] == {"tighten_sl": 1}
    lines = summary_table(summary).splitlines()
    assert "actions failed by kind tighten_sl 1" in _rows(lines)
    (note,) = [line for line in lines if line.startswith("note: actions failed by result")]
    assert note.startswith(
        "note: actions failed by result: no_money 1 (the first: tighten_sl: modify "
    )
    assert "10019 TRADE_RETCODE_NO_MONEY" in note


def test_no_failed_actions_row_when_none_failed() -> None:
    lines = summary_table({"actions": {"hedge": 1}, "actions_failed": {}}).splitlines()
    assert not any(line.startswith("actions failed") for line in lines)


async def test_a_live_runs_realised_pnl_is_its_deals_profit() -> None:
    """The fake's balance never moved, so the P&L read 0.00 whatever the deals made."""
    fake = FakeMT5()
    plugin = HedgesThenCloses(fake)
    app = live_app(fake, {"defender": plugin})
    plugin.stop = app.loop.request_stop
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2005.0, 2005.3
    stats = await drive(app, progress=None)
    summary = run_summary(app, stats, {"mode": "live"})
    booked = round(sum(d.profit for d in fake.deals), 2)
    assert booked != 0 and summary["pnl"] == booked
    assert summary["end_balance"] == round(summary["start_balance"] + booked, 2)


class StoppedOut(HedgesThenCloses):
    """Buys once; the broker stops the trade out after cycle 2's sweeps (found gone at
    the next cycle's start, as between two cycles)."""

    def __init__(self, fake: FakeMT5) -> None:
        super().__init__(fake)
        self.closed: list[tuple[int, str]] = []

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        if self.cycles == 5:
            self.stop()

    @hookimpl
    def manage_positions(self) -> None:
        if self.cycles == 2:
            self.fake.stop_out(self.ticket)

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade.ticket, reason))


async def test_a_stop_out_is_in_the_run_summary() -> None:
    fake = FakeMT5()
    plugin = StoppedOut(fake)
    app = live_app(fake, {"victim": plugin})
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    assert plugin.closed == [(plugin.ticket, "external")]  # no CloseReason says stop-out
    notes = run_summary(app, stats, {"mode": "live"})["host_notes"]
    (note,) = [n for n in notes if "stopped out" in n]
    assert note.startswith("the broker stopped out 1 position (margin stop-out, ")
    assert f": {plugin.ticket} buy 0.3 XAUUSD (" in note


class StoppedOutWhileTightening(StoppedOut):
    """The broker stops the trade out during cycle 2's plugin step, and the plugin's stop
    change that follows is refused (``not_found``), as DTMS's was in the probe."""

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.stop_out(self.ticket)
            tighten = Action(
                self.ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, key="t", source="d"
            )
            assert (await host.execute(tighten)).code is ResultCode.NOT_FOUND
        if self.cycles == 5:
            self.stop()

    @hookimpl
    def manage_positions(self) -> None:
        pass


async def test_a_stop_out_beside_a_failed_action_is_no_close_of_the_action() -> None:
    """The summary counted 'closes by reason: action 1' while its note said the plugins
    heard 'external': a failed action made the phase one that acted."""
    fake = FakeMT5()
    plugin = StoppedOutWhileTightening(fake)
    app = live_app(fake, {"victim": plugin})
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    assert plugin.closed == [(plugin.ticket, "external")]
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["closes_by_reason"] == {"external": 1}


class HalvesThenCloses(HedgesThenCloses):
    """Buys 1 lot risking 10.0 a lot; at cycle 2 closes half (the price up 9.7), at cycle
    3 the rest (the price down 5.3), as DTMS's partial close and a later close do."""

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.ticket:
            return []
        return [OrderRequest("XAUUSD", "buy", 1.0, stop_loss=1995.3, take_profit=2050.0)]

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        quote = self.fake.symbols["XAUUSD"]
        if self.cycles == 2:
            quote.bid, quote.ask = 2015.0, 2015.3
            half = Action(self.ticket, ActionKind.PARTIAL_CLOSE, {"volume": 0.5}, key="p")
            assert (await host.execute(half)).ok
        elif self.cycles == 3:
            quote.bid, quote.ask = 2000.0, 2000.3
            assert (await host.execute(Action(self.ticket, ActionKind.CLOSE, key="c"))).ok
        elif self.cycles == 5:
            self.stop()


async def test_a_live_trades_r_counts_every_part_it_closed() -> None:
    """Half closed at +9.7 and the rest at -5.3 on a 10.0 risk: +0.22R. The summary read
    the position's last deal alone (half a lot at -5.3: -0.265R), where a replay on the
    paper broker, which books each part, says +0.22R."""
    fake = FakeMT5()
    plugin = HalvesThenCloses(fake)
    app = live_app(fake, {"defender": plugin})
    plugin.stop = app.loop.request_stop
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2005.0, 2005.3
    stats = await drive(app, progress=None)
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["closed_trades"] == 1
    assert round(summary["avg_r"], 3) == 0.22
    booked = round(sum(d.profit for d in fake.deals), 2)
    assert summary["pnl"] == booked


class StopsAtOnce:
    """Stops the live run at its first cycle."""

    stop: Any = None

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.stop()


async def test_the_summary_names_the_terminal_accounts_currency() -> None:
    """The money figures were amounts of nothing: the summary named no currency, though
    the terminal's account_info says it."""
    fake = FakeMT5(currency="EUR")
    plugin = StopsAtOnce()
    app = live_app(fake, {"stopper": plugin})
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["currency"] == "EUR"
    rows = _rows(summary_table(summary).splitlines())
    assert "P&L (realised) 0.00 EUR" in rows
    assert "max drawdown (realised) 0.00 EUR" in rows


async def test_the_live_report_kept_current_asks_a_closed_positions_parts_once(
    tmp_path: Any,
) -> None:
    """The live report is rewritten every minute (hostapp/live_interim.py): it asked the
    terminal's history for every close of its window at each write, one blocking call
    per close over mt5linux. A closed position's parts never change: read once, the same
    figures every time (+0.22R, as the final summary says)."""
    import json

    from hostapp.live_interim import write_interim

    fake = FakeMT5()
    plugin = HalvesThenCloses(fake)
    app = live_app(fake, {"defender": plugin})
    plugin.stop = app.loop.request_stop
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2005.0, 2005.3
    await drive(app, progress=None)
    known: dict[int, list[Any]] = {}

    def asked() -> int:
        return sum(1 for c in fake.calls if c.startswith("history_deals_get"))

    before = asked()
    for _ in range(3):
        assert write_interim(app, tmp_path, {"mode": "live"}, known) == []
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert round(summary["avg_r"], 3) == 0.22 and summary["closed_trades"] == 1
        if _ == 0:
            first = asked() - before
    assert first >= 1 and asked() - before == first  # the later writes asked nothing
