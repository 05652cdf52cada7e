"""Stops (and take-profits) the bar opened past: the paper broker fills them at the open,
as a market does after its overnight close. A buy on the session's last minute, its stop
332.97, filled at 304.81 at the next morning's open: -32.48R, the run's average loss and
most of its drawdown, and no word under the figures said why."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import ROOT, replay

from hookspecs import Bar, OrderRequest, SymbolInfo, Trade, hookimpl
from hostapp import app as appmod
from hostapp.brokers.paper import PaperBroker
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.gap_fill_notes import GAP_R, gap_fills, gaps_note
from hostapp.testing import bars_from_closes

EVENING = datetime(2026, 7, 30, 19, 59, tzinfo=UTC)
MORNING = datetime(2026, 7, 31, 13, 30, tzinfo=UTC)
STOCK = SymbolInfo("AAPL", 4, 0.0001, 0.01, 0.01, 100.0, contract_size=1.0)


def bought(stop: float | None, target: float | None = None) -> tuple[PaperBroker, Trade]:
    """The paper broker holding 100 shares bought at 333.8667 on the evening's last
    minute."""
    broker = PaperBroker(symbols={"AAPL": STOCK})
    broker.set_quote("AAPL", 333.8667, 333.8667, EVENING)
    done = broker.open(OrderRequest("AAPL", "buy", 100.0, stop_loss=stop, take_profit=target))
    assert done.ok and done.new_ticket is not None
    trade = broker.position(done.new_ticket)
    assert trade is not None
    return broker, trade


def closes_of(broker: PaperBroker, bar: Bar) -> list[tuple[datetime, Trade, str]]:
    """The closes ``bar`` made, as the trading loop records them (at the bar's end)."""
    when = bar.time + timedelta(minutes=1)
    return [(when, trade, reason) for trade, reason in broker.on_bar("AAPL", bar)]


def test_a_stop_the_morning_opened_past_is_said_with_how_far_in_r() -> None:
    broker, trade = bought(stop=332.9721)
    closes = closes_of(broker, Bar(MORNING, 304.81, 306.9, 303.64, 304.05, 100.0))
    fills = gap_fills([(EVENING, trade, "sma_strategy")], closes, broker.symbol_info)
    (fill,) = fills
    assert fill.level == 332.9721 and fill.trade.close_price == 304.81
    assert round(fill.r or 0.0, 2) == 31.48  # (332.9721 - 304.81) / (333.8667 - 332.9721)
    note = gaps_note(fills, broker.symbol_info, {trade.ticket: -32.4801})
    assert note == (
        "1 stop filled beyond its price on a bar that opened past it (a gap, such as a "
        "market's overnight or weekend close); ticket 1 (AAPL buy), its stop at 332.9721 "
        "filled at 304.8100 on the bar that ended 2026-07-31 13:31, 31.48R past it (the "
        "trade closed at -32.48R)"
    )


def test_a_stop_reached_inside_the_bar_fills_at_its_price_and_is_not_said() -> None:
    broker, trade = bought(stop=332.9721)
    closes = closes_of(broker, Bar(MORNING, 333.5, 333.6, 330.0, 331.0, 100.0))
    assert [t.close_price for _, t, _ in closes] == [332.9721]
    assert gap_fills([(EVENING, trade, "s")], closes, broker.symbol_info) == []


def test_take_profits_are_counted_and_the_worst_stop_named_first() -> None:
    """A target the open jumped over, filled there, is in the trade's favour: counted
    with the stops, while the stop is the one named. A fill past its level by less than
    GAP_R of the trade's R is left out (a spread's size, no figure reads otherwise)."""
    broker, won = bought(stop=332.9721, target=335.0)
    done = broker.open(OrderRequest("AAPL", "buy", 100.0, stop_loss=332.9721))
    lost = broker.position(done.new_ticket or 0)
    assert lost is not None
    up = closes_of(broker, Bar(MORNING, 336.0, 336.5, 335.5, 336.2, 100.0))
    down = closes_of(
        broker, Bar(MORNING + timedelta(minutes=1), 304.81, 306.9, 303.6, 304.05, 100.0)
    )
    entries = [(EVENING, won, "s"), (EVENING, lost, "s")]
    fills = gap_fills(entries, [*up, *down], broker.symbol_info)
    assert [(f.trade.ticket, f.reason) for f in fills] == [(1, "take_profit"), (2, "stop_loss")]
    note = gaps_note(fills, broker.symbol_info)
    assert note is not None
    assert note.startswith(
        "1 stop and 1 take-profit filled beyond their price on a bar that opened past it "
        "(a gap, such as a market's overnight or weekend close), the take-profits in the "
        "trade's favour; the worst: ticket 2 (AAPL buy), its stop at 332.9721 filled at "
        "304.8100 on the bar that ended 2026-07-31 13:32, 31.48R past it"
    )
    broker, near = bought(stop=332.9721, target=335.0)
    slight = 335.0 + GAP_R / 2 * (333.8667 - 332.9721)
    closes = closes_of(broker, Bar(MORNING, slight, slight + 1, slight, slight, 100.0))
    assert gap_fills([(EVENING, near, "s")], closes, broker.symbol_info) == []


def session_and_gap() -> list[Bar]:
    """A session of minute bars: flat, a dip that crosses the 10/30 averages down, then
    a rally that crosses them up on its last minute; the next morning opens 10 % lower,
    under the buy's stop."""
    closes = [330.0] * 40 + [329.0, 328.0, 327.0, 326.0, 330.0, 334.0, 338.0]
    start = EVENING + timedelta(minutes=1) - timedelta(minutes=len(closes))
    day = bars_from_closes(closes, start=start, step_seconds=60)
    wobble = [305.0 + 0.1 * (i % 3) for i in range(21)]
    morning = bars_from_closes(wobble, start=MORNING, step_seconds=60)
    morning[0] = dataclasses.replace(morning[0], open=304.81, high=306.0, low=303.6)
    return day + morning


def test_a_replay_and_its_ab_say_the_stop_gapped_through(tmp_path: Path) -> None:
    """The replay's summary, and each run of the A/B (the baseline's stop is where the
    strategy put it, DTMS's where it moved it: two sentences, each naming its runs)."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    write_bars_csv(tmp_path / "AAPL.csv", session_and_gap())
    done = replay(tmp_path, "AAPL.csv", "--timeframe", "M1", "--compare", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if "filled beyond" in line]
    runs = [line.removeprefix("note: ").split(": 1 stop filled")[0] for line in said]
    assert runs == ["without dtms run", "with dtms, same entries and with dtms, full runs"]
    for line in said:
        assert "ticket 2 (AAPL buy), its stop at 335." in line
        assert "filled at 304.81000 on the bar that ended 2026-07-31 13:31" in line
        assert line.endswith("(the trade closed at -12.43R)")
    alone = replay(tmp_path, "AAPL.csv", "--timeframe", "M1")
    assert alone.returncode == 0, alone.stderr
    (line,) = [n for n in alone.stdout.splitlines() if "filled beyond" in n]
    assert line == said[1].replace("with dtms, same entries and with dtms, full runs: ", "")


class BuysOnce:
    """Buys XAUUSD once, on the bar that closes at 2000.0, with a stop 1.0 under it."""

    def __init__(self) -> None:
        self.done = False

    @hookimpl
    def propose_orders(self, symbol: str, bars: Sequence[Bar]) -> list[OrderRequest]:
        if self.done or bars[-1].close != 2000.0:
            return []
        self.done = True
        return [OrderRequest(symbol, "buy", 0.1, stop_loss=1999.0)]


def summary_of_a_gap(mode: str) -> dict[str, Any]:
    """A simulated run whose buy's stop the next bar opens 10.0 under (7.2R past it),
    summarised as ``mode`` (the live runner gives ``live``)."""
    closes = [2010.0] * 20 + [2000.0] + [1990.0] * 10
    bars = bars_from_closes(closes)
    bars[21] = dataclasses.replace(bars[21], open=1990.0, high=1990.5)  # gapped down
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    app = appmod.build_sim_app(
        config, {"XAUUSD": bars}, base_timeframe="M5", builtins={"buys": BuysOnce()},
        entry_points=[], env={},
    )  # fmt: skip
    stats = asyncio.run(drive(app, progress=None))
    return run_summary(app, stats, {"mode": mode})


def test_a_live_run_says_slippage_or_a_gap_not_a_bar_that_opened_past_it() -> None:
    """A live broker fills a stop past its price by slippage as often as by a gap, and
    the time is the cycle's that found it closed: a live run's note says so; a
    simulated run's says the bar that opened past it, as before."""
    (live,) = [n for n in summary_of_a_gap("live")["host_notes"] if "filled beyond" in n]
    assert live.startswith(
        "1 stop filled beyond its price (slippage, or a gap such as a market's overnight "
        "or weekend close); ticket 1 (XAUUSD buy), its stop at 1999.00 filled at 1990.00 "
        "found closed at "
    )
    assert "opened past it" not in live and "on the bar that ended" not in live
    (sim,) = [n for n in summary_of_a_gap("run")["host_notes"] if "filled beyond" in n]
    assert sim.startswith(
        "1 stop filled beyond its price on a bar that opened past it (a gap, such as a "
        "market's overnight or weekend close); ticket 1 (XAUUSD buy), its stop at 1999.00 "
        "filled at 1990.00 on the bar that ended "
    )


def test_a_target_of_a_trade_without_a_stop_is_said_past_half_a_point() -> None:
    """A trade opened without a stop has no R to weigh the distance by: its fill is said
    once past half a point of the symbol (README, "The A/B replay"), without an R."""
    broker, trade = bought(stop=None, target=335.0)
    closes = closes_of(broker, Bar(MORNING, 335.01, 335.5, 335.0, 335.2, 100.0))
    (fill,) = gap_fills([(EVENING, trade, "s")], closes, broker.symbol_info)
    assert fill.r is None and round(fill.beyond, 4) == 0.01
    note = gaps_note([fill], broker.symbol_info)
    assert note is not None and note.endswith(
        "filled at 335.0100 on the bar that ended 2026-07-31 13:31"
    )
    broker, trade = bought(stop=None, target=335.0)
    closes = closes_of(broker, Bar(MORNING, 335.00004, 335.5, 335.0, 335.2, 100.0))
    assert gap_fills([(EVENING, trade, "s")], closes, broker.symbol_info) == []
