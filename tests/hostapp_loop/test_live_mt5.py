"""``--live`` on MetaTrader (a fake terminal): a cycle every ``cycle_seconds``, orders
proposed only when a new bar closed, ``on_cycle`` every cycle, a clean stop."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from support.fake_mt5 import FakeMT5, FakeSymbol

from hookspecs import OrderRequest, hookimpl
from hookspecs.events import FOR_TERMINAL
from hostapp.app import App, build_live_app
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_results, run_summary
from hostapp.report import summary_table

T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()) + 7200  # server clock


def _row(i: int) -> tuple[int, float, float, float, float, int, int, int]:
    return (T0 + 300 * i, 2000.0 + i, 2001.0 + i, 1999.0 + i, 2000.5 + i, 100, 30, 0)


class Probe:
    """Counts hooks; a new bar appears at the terminal after cycle 2; stops after 5."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.proposed: list[float] = []
        self.cycles = 0
        self.shutdown_ran = False
        self.stop: Any = None

    @hookimpl
    def propose_orders(self, bars: list[Any]) -> None:
        self.proposed.append(bars[-1].close)

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.rates[("XAUUSD", 5)].append(_row(7))  # the forming bar moves on
        if self.cycles == 5:
            self.stop()

    @hookimpl
    def shutdown(self) -> None:
        self.shutdown_ran = True


def _live_app(fake: FakeMT5, probe: Probe, symbols: list[str] | None = None, **more: object) -> App:
    """The live host on the fake terminal: XAUUSD M5 (or ``symbols``), a cycle every 10 ms;
    ``more``: other plugins, by name."""
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2005.0, ask=2005.3, digits=2))
    fake.rates[("XAUUSD", 5)] = [_row(i) for i in range(7)]  # the last one is forming
    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": symbols or ["XAUUSD"],
                "cycle_seconds": 0.01,
                "mt5": {"server_utc_offset_minutes": 120},
            }
        }
    )
    builtins = {"probe": probe, **more}
    app = build_live_app(config, builtins=builtins, entry_points=[], env={}, module=fake)
    probe.stop = app.loop.request_stop
    return app


async def test_live_cycles_on_a_fake_terminal() -> None:
    fake = FakeMT5()
    probe = Probe(fake)
    app = _live_app(fake, probe)
    stats = await drive(app, progress=None)
    assert probe.cycles == 5 and stats.cycles == 5
    assert probe.proposed == [2005.5, 2006.5]  # one proposal per newly closed bar
    assert probe.shutdown_ran and stats.interrupted


class Restart(Probe):
    """The terminal goes away after cycle 2 and starts again 0.15 s later."""

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.initialized = self.fake.terminal_running = False
            asyncio.get_running_loop().call_later(0.15, self.back)
        if self.cycles == 5:
            self.stop()

    def back(self) -> None:
        self.fake.terminal_running = True


async def test_a_terminal_that_restarts_is_reconnected_and_the_gap_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5()
    probe = Restart(fake)
    app = _live_app(fake, probe)
    with caplog.at_level(logging.INFO):
        stats = await asyncio.wait_for(drive(app, progress=None), 30)  # never reconnected
    assert probe.cycles == 5  # cycles ran again after the restart
    assert stats.cycles_skipped >= 2 and "No IPC connection" in stats.skip_error
    assert fake.calls.count("initialize") >= 3  # connect, failed tries, the reconnect
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("cycle skipped")]) == 1  # once an episode
    assert any(m.startswith("reconnected to the broker after") for m in messages)
    assert any(m == f"cycles run again, after {stats.cycles_skipped} skipped" for m in messages)
    # the ends go where "cycle skipped", an ERROR, was read: the run's terminal
    ends = [r for r in caplog.records if r.getMessage().startswith(("reconnected", "cycles run"))]
    assert [(r.levelname, getattr(r, FOR_TERMINAL, False)) for r in ends] == [
        ("WARNING", True), ("WARNING", True),
    ]  # fmt: skip
    notes = run_summary(app, stats, {"mode": "live"})["host_notes"]
    assert any(n.startswith(f"{stats.cycles_skipped} cycles were skipped") for n in notes)


BRIDGED = (
    "symbol_info", "symbol_info_tick", "copy_rates_from_pos", "positions_get", "account_info",
    "terminal_info", "initialize", "login", "shutdown", "last_error", "orders_get",
)  # fmt: skip


class GoneAtTheEnd(Probe):
    """The mt5linux bridge dies (rpyc raises EOFError) and the run is stopped."""

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:

            def closed(*args: Any, **kwargs: Any) -> Any:
                raise EOFError("stream has been closed")

            for name in BRIDGED:  # rpyc's proxy: every call on a closed stream raises
                setattr(self.fake, name, closed)
            asyncio.get_running_loop().call_later(0.1, self.stop)


async def test_a_bridge_gone_for_good_skips_cycles_and_still_gives_a_summary() -> None:
    fake = FakeMT5()
    probe = GoneAtTheEnd(fake)
    app = _live_app(fake, probe)
    stats = await drive(app, progress=None)  # no EOFError escapes the loop
    assert stats.cycles_skipped >= 1 and stats.skip_error == "EOFError: stream has been closed"
    summary = run_summary(app, stats, {"mode": "live"})
    (note,) = [n for n in summary["host_notes"] if n.startswith("the broker did not answer")]
    assert "stream has been closed" in note and "read unknown" in note
    # not 0: nobody knows (summary.json has null, the table "unknown")
    assert summary["open_at_end"] is summary["positions_open_at_end"] is summary["pnl"] is None
    rows = {" ".join(line.split()) for line in summary_table(summary).splitlines()}
    assert {"trades still open at the end unknown", "positions open at the end unknown"} <= rows


class StoppedAway(Probe):
    """The terminal closes at cycle 2 (every read fails) and the run is stopped."""

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.terminal_running = False
            self.fake.shutdown()
            asyncio.get_running_loop().call_later(0.05, self.stop)


async def test_a_terminal_back_by_the_summary_is_reconnected_to_and_counted() -> None:
    """The probe's 5-minute outage: the terminal was back, the loop's next reconnect
    minutes away, and the summary said 'positions open at the end 0' beside a 0.3-lot
    position: the summary now tries once more."""
    fake = FakeMT5()
    probe = StoppedAway(fake)
    app = _live_app(fake, probe)
    ticket = fake.add_position("XAUUSD", 0, 0.3, 2000.0, magic=0)
    stats = await drive(app, progress=None)
    assert stats.cycles_skipped >= 1
    fake.terminal_running = True  # back, after the loop's last try
    summary = run_summary(app, stats, {"mode": "live"})
    assert (
        summary["positions_open_at_end"] == 1 and summary["positions_at_end"][0]["ticket"] == ticket
    )
    assert not [n for n in summary["host_notes"] if "did not answer" in n]


class Bars(Probe):
    """Records the symbols whose bars each proposal saw."""

    def __init__(self, fake: FakeMT5) -> None:
        super().__init__(fake)
        self.symbols: list[str] = []

    @hookimpl
    def propose_orders(self, symbol: str, bars: list[Any]) -> None:
        self.symbols.append(symbol)


async def test_one_symbols_failed_history_skips_that_symbol_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """EURUSD's history read fails every cycle, (-1, 'Terminal: Call failed'), a symbol's
    problem: XAUUSD trades on, no cycle is skipped, the working terminal is not restarted,
    and the failure is said once, counted, and noted in the summary."""
    fake = FakeMT5()
    probe = Bars(fake)
    fake.add_symbol(FakeSymbol("EURUSD", bid=1.085, ask=1.0851, digits=5, contract_size=1e5))
    read = fake.copy_rates_from_pos

    def rates(symbol: str, *args: Any) -> Any:
        if symbol != "EURUSD":
            return read(symbol, *args)
        fake._enter("copy_rates_from_pos", symbol, *args)
        fake._fail(-1, "Terminal: Call failed")
        return None

    fake.copy_rates_from_pos = rates  # type: ignore[method-assign]
    app = _live_app(fake, probe, symbols=["XAUUSD", "EURUSD"])
    with caplog.at_level(logging.INFO):
        stats = await asyncio.wait_for(drive(app, progress=None), 30)
    assert probe.cycles == 5 and stats.cycles_skipped == 0
    assert probe.symbols == ["XAUUSD", "XAUUSD"]  # one proposal per new XAUUSD bar
    assert fake.calls.count("initialize") == 1 and "shutdown" not in fake.calls[:-1]
    said = [r.getMessage() for r in caplog.records if "bars of EURUSD" in r.getMessage()]
    assert len(said) == 1 and "Terminal: Call failed" in said[0]
    assert not any("reconnected" in r.getMessage() for r in caplog.records)
    notes = run_summary(app, stats, {"mode": "live"})["host_notes"]
    (note,) = [n for n in notes if n.startswith("bars of EURUSD could not be read")]
    assert "in 1 episode " in note and "Call failed" in note


class Cut(Probe):
    """The terminal loses its trade server after cycle 1 and has it again after cycle 3
    (``back`` set), or never (``back`` None)."""

    back: int | None = 3

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 1:
            self.fake.server_connected = False
        if self.cycles == self.back:
            self.fake.server_connected = True
        if self.cycles == 5:
            self.stop()


@pytest.mark.parametrize("back", [3, None])
async def test_a_terminal_cut_off_from_its_trade_server_is_said_once_and_noted(
    caplog: pytest.LogCaptureFixture, back: int | None
) -> None:
    fake = FakeMT5()
    probe = Cut(fake)
    probe.back = back
    app = _live_app(fake, probe)
    with caplog.at_level(logging.INFO):
        stats = await asyncio.wait_for(drive(app, progress=None), 30)
    assert probe.cycles == 5 and stats.cycles_skipped == 0
    said = [r.getMessage() for r in caplog.records if "trade server" in r.getMessage()]
    notes = run_summary(app, stats, {"mode": "live"})["host_notes"]
    if back is not None:
        assert len(said) == 2 and said[0].startswith("the MetaTrader 5 terminal lost its")
        assert said[1].endswith("again, after 0 s (2 cycles)")
        (note,) = [n for n in notes if "lost its trade server" in n]
        assert note.startswith("the terminal lost its trade server 1 time, 0 s in all")
    else:
        assert len(said) == 1
        (note,) = [n for n in notes if "trade server" in n]
        assert "not connected to its trade server at the end" in note and "(4 cycles)" in note


class LinkFails(Probe):
    """From cycle 2 on, every history read fails with the IPC error though the terminal
    connects again at each try; the run is stopped 0.3 s later."""

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles != 2:
            return
        read = self.fake.copy_rates_from_pos

        def rates(*args: Any) -> Any:
            read(*args)
            self.fake._fail(-10001, "IPC send failed")
            return None

        self.fake.copy_rates_from_pos = rates  # type: ignore[method-assign]
        asyncio.get_running_loop().call_later(0.3, self.stop)


async def test_a_reconnect_that_does_not_cure_the_skips_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5()
    app = _live_app(fake, LinkFails(fake))
    with caplog.at_level(logging.INFO):
        stats = await asyncio.wait_for(drive(app, progress=None), 30)
    assert stats.cycles_skipped >= 4  # reconnects at skipped cycles 1, 2 and 4 at least
    assert fake.calls.count("initialize") >= 4
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("reconnected to the broker")]) == 1


class Closes:
    """Proposes a buy once, closes a third of it at the second cycle, has the server hit
    its stop at the third (after the loop's sweeps: found gone at the next cycle's
    start); records what the host reports closed."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.cycles = 0
        self.ticket = 0
        self.closed: list[tuple[Any, str]] = []
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[Any]:
        from hookspecs import OrderRequest

        if self.cycles:
            return []
        return [OrderRequest("XAUUSD", "buy", 0.3, stop_loss=1995.0, take_profit=2050.0)]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.ticket = trade.ticket

    @hookimpl
    def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.symbols["XAUUSD"].bid, self.fake.symbols["XAUUSD"].ask = 2010.0, 2010.3
            assert host.broker.close(self.ticket, 0.1).ok  # (2010.0 - 2005.3) × 0.1 × 100
        elif self.cycles == 5:
            self.stop()

    @hookimpl
    def manage_positions(self) -> None:
        if self.cycles == 3:
            self.fake.hit_stop(self.ticket)  # (1995.0 - 2005.3) × 0.2 × 100 = -206

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade, reason))


async def test_a_position_the_server_closed_is_reported_with_all_its_deals() -> None:
    """On MetaTrader the loop learns of a close by the position going: it reported the
    last view, whose profit is the floating part at the cycle before (neither the stop's
    price nor the partial close's booked result), which DTMS's account rails then sum;
    and with the phase that found it gone (``external``), not the stop that closed it,
    which DTMS's stop-out streak counts."""
    fake = FakeMT5()
    plugin = Closes(fake)
    app = _live_app(fake, Probe(fake), closes=plugin)
    plugin.stop = app.loop.request_stop
    await drive(app, progress=None)
    ((trade, reason),) = plugin.closed
    assert trade.ticket == plugin.ticket and reason == "stop_loss"  # DEAL_REASON_SL
    assert (trade.profit, trade.close_price, trade.volume) == (-159.0, 1995.0, 0.2)
    assert trade.closed_at is not None and trade.entry_price == 2005.3


class TradesThenGone(GoneAtTheEnd):
    """Buys once at its first bar, then the bridge dies as :class:`GoneAtTheEnd`'s."""

    @hookimpl
    def propose_orders(self, bars: list[Any]) -> list[OrderRequest]:
        self.proposed.append(bars[-1].close)
        return [OrderRequest("XAUUSD", "buy", 0.1)] if len(self.proposed) == 1 else []


async def test_a_trade_whose_position_the_broker_could_not_say_floats_at_unknown() -> None:
    """The trades of a live run whose broker did not answer at the end: a trade still
    open was written with a floating profit of 0.00 in trades.csv, where summary.json
    says unknown (null) of the same positions. Its floating figure is unknown too."""
    fake = FakeMT5()
    probe = TradesThenGone(fake)
    app = _live_app(fake, probe)
    stats = await drive(app, progress=None)
    summary, trades = run_results(app, stats, {"mode": "live"})
    assert summary["floating_pnl"] is None
    (trade,) = trades
    assert (trade.close_reason, trade.floating, trade.floating_r) == ("open", None, None)
