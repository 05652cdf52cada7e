"""The run report: R multiples (a hedge counts towards the trade it defends), drawdown,
states reached and actions from a defender's events, and the chart files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import (
    Action,
    ActionKind,
    DefensiveState,
    HostView,
    OrderRequest,
    Trade,
    hookimpl,
)
from hostapp.app import build_sim_app
from hostapp.charts import write_price_charts
from hostapp.config import config_from_dict
from hostapp.loop import LoopStats
from hostapp.outcomes import metrics, outcomes
from hostapp.report import RunRecorder, max_drawdown, summarize, summary_table
from hostapp.testing import bars_from_closes

T = datetime(2024, 1, 1, tzinfo=UTC)


def _trade(ticket: int, direction: str, entry: float, close: float, volume: float, **kw) -> Trade:
    return Trade(
        ticket, "XAUUSD", direction, volume, entry, kw.pop("sl", None), None, T,  # type: ignore[arg-type]
        close_price=close, closed_at=kw.pop("at", T), profit=kw.pop("profit", 0.0), **kw,
    )  # fmt: skip


def test_r_multiples_include_parts_and_hedges() -> None:
    stats = LoopStats()
    opened = Trade(1, "XAUUSD", "buy", 0.2, 2000.0, 1990.0, None, T)
    other = Trade(2, "XAUUSD", "sell", 0.1, 2000.0, 2010.0, None, T)
    stats.entries += [(T, opened, "s"), (T, other, "s")]
    stats.closes += [(T, opened, "stop_loss"), (T, other, "take_profit")]
    closed = [
        _trade(1, "buy", 2000.0, 2020.0, 0.1),  # half at +2R
        _trade(1, "buy", 2000.0, 1990.0, 0.1),  # rest at the stop, -1R
        _trade(3, "sell", 1995.0, 1985.0, 0.1, comment="DTMS_HEDGE_1"),  # hedge made +1R
        _trade(2, "sell", 2000.0, 2030.0, 0.1),  # -3R
    ]
    results = {t.ticket: t.r for t in outcomes(stats.entries, stats.closes, closed)}
    # trade 1: (+20*0.1 - 10*0.1 + 10*0.1) / (10 * 0.2) = +1R
    assert results == {1: pytest.approx(1.0), 2: pytest.approx(-3.0)}


def test_trades_without_a_stop_count_in_the_figures_but_not_in_r() -> None:
    """A plugin may open without a stop: such a trade has no R, yet it closed, won or
    lost money; the summary left it out of every figure (4 closed of 12 opened)."""
    stats = LoopStats()
    with_stop = Trade(1, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, None, T)
    bare = [Trade(t, "XAUUSD", "buy", 0.1, 2000.0, None, None, T) for t in (2, 3)]
    stats.entries += [(T, t, "s") for t in (with_stop, *bare)]
    stats.closes += [(T, t, "exit") for t in (with_stop, *bare)]
    closed = [
        _trade(1, "buy", 2000.0, 2020.0, 0.1, sl=1990.0, profit=200.0),  # +2R
        _trade(2, "buy", 2000.0, 1995.0, 0.1, profit=-50.0),
        _trade(3, "buy", 2000.0, 1990.0, 0.1, profit=-100.0),
    ]
    figures = metrics(outcomes(stats.entries, stats.closes, closed))
    assert (figures["closed_trades"], figures["trades_without_r"]) == (3, 2)
    assert figures["win_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (figures["avg_r"], figures["longest_losing_streak"]) == (pytest.approx(2.0), 2)
    assert figures["expectancy"] == pytest.approx(50 / 3, abs=0.01)
    assert figures["profit_factor"] == pytest.approx(200 / 150, abs=0.01)
    assert summary_table(figures).endswith(
        "note: 2 closed trades had no R (no stop, or one at the entry): they count in the "
        "win rate, profit factor and expectancy, not in the R figures"
    )


def test_a_plugins_warning_opens_the_summary_and_its_note_follows_it() -> None:
    """``run_report``'s ``warning`` is printed over the table (figures to doubt before
    reading them), its ``note`` under it; a report that failed or says neither adds none."""
    reports = {
        "dtms": {"warning": "DTMS scored most trades without ema_alignment", "note": "n1"},
        "exits": {"held_defensive": {}},
        "broken": {"error": "run_report: ValueError: x"},
    }
    lines = summary_table({"plugin_reports": reports}).splitlines()
    assert lines[0] == "WARNING (dtms): DTMS scored most trades without ema_alignment"
    assert not any(line.startswith("WARNING") for line in lines[1:])
    assert lines[-1] == "note (dtms): n1"


def test_max_drawdown_peak_to_trough_in_close_order() -> None:
    deals = [
        _trade(1, "buy", 1, 1, 1, profit=100.0, at=T),
        _trade(2, "buy", 1, 1, 1, profit=-30.0, at=T + timedelta(hours=2)),
        _trade(3, "buy", 1, 1, 1, profit=-50.0, at=T + timedelta(hours=1)),
        _trade(4, "buy", 1, 1, 1, profit=60.0, at=T + timedelta(hours=3)),
    ]
    amount, pct = max_drawdown(1000.0, deals)
    assert amount == 80.0 and pct == pytest.approx(80 / 1100 * 100, abs=1e-3)


def test_max_drawdown_percent_is_the_largest_fall_in_percent() -> None:
    """The deepest fall in money and the deepest in percent of its peak are different
    falls when the account grew between them: each is the largest of its own kind."""
    deals = [
        _trade(1, "buy", 1, 1, 1, profit=-100.0, at=T),  # 1,000 → 900: 10 %
        _trade(2, "buy", 1, 1, 1, profit=9_000.0, at=T + timedelta(hours=1)),  # 9,900
        _trade(3, "buy", 1, 1, 1, profit=-500.0, at=T + timedelta(hours=2)),  # 5.05 %
    ]
    assert max_drawdown(1000.0, deals) == (500.0, 10.0)


def test_max_drawdown_counts_the_closes_of_one_time_as_one() -> None:
    """A gain and a loss of one bar on two symbols: the balance between them never stood,
    so no peak is taken there, and the fall is the same in the order of the files
    either way (a quant's portfolio replay read 1,534.86 in one order, 1,454.21 in the
    other)."""
    loss = _trade(2, "buy", 1, 1, 1, profit=-97.72, at=T + timedelta(hours=1))
    gain = _trade(3, "buy", 1, 1, 1, profit=224.10, at=T + timedelta(hours=1))
    later = _trade(4, "buy", 1, 1, 1, profit=-200.0, at=T + timedelta(hours=2))
    for deals in ([gain, loss, later], [loss, gain, later]):
        assert max_drawdown(1000.0, deals) == (
            200.0,
            pytest.approx(200 / 1126.38 * 100, abs=1e-3),
        )


class Defender:
    """A DTMS stand-in: walks every trade HEALTHY → WARNING_L1 → HEDGED over cycles."""

    def __init__(self) -> None:
        self.age: dict[int, int] = {}

    @hookimpl
    def propose_orders(self, symbol: str, bars: list[object]) -> list[OrderRequest]:
        if len(bars) in (5, 25):
            return [OrderRequest(symbol, "buy", 0.1, stop_loss=1900.0, take_profit=2500.0)]
        return []

    @hookimpl
    def on_trade_executed(self, trade: Trade) -> None:
        self.age[trade.ticket] = 0

    @hookimpl
    async def on_cycle(self, host: HostView) -> None:
        for ticket in list(self.age):
            self.age[ticket] += 1
            if self.age[ticket] == 2:
                await host.report_state_change(
                    ticket, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "test"
                )
            if self.age[ticket] == 4:
                await host.execute(
                    Action(
                        ticket, ActionKind.HEDGE, {"volume": 0.05}, key=f"h{ticket}", source="dtms"
                    )
                )
                await host.report_state_change(
                    ticket, DefensiveState.WARNING_L1, DefensiveState.HEDGED, "test"
                )

    @hookimpl
    def on_trade_closed(self, trade: Trade) -> None:
        self.age.pop(trade.ticket, None)


async def test_states_and_actions_reach_the_summary_and_charts(tmp_path: Path) -> None:
    closes = [2000.0 + (i % 7) for i in range(40)]
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes(closes)}
    app = build_sim_app(
        config, series, base_timeframe="M5", builtins={"dtms": Defender()}, entry_points=[], env={}
    )
    stats = await app.loop.run_replay(app.feed)
    summary = summarize(
        stats=stats,
        recorder=app.recorder,
        closed=app.broker.closed_trades(),  # type: ignore[attr-defined]
        open_positions=app.broker.positions(),
        start_balance=app.start_balance,
        balance=app.broker.account().balance,
    )
    assert summary["trades"] == 2  # the hedges are not strategy trades
    assert summary["open_at_end"] == 2
    assert summary["states_reached"]["WARNING_L1"] == 2
    assert summary["states_reached"]["HEDGED"] == 2
    assert summary["states_reached"]["WARNING_L2"] == 0
    assert summary["actions"] == {"hedge": 2}
    assert summary["actions_by_source"] == {"dtms": {"hedge": 2}}
    assert isinstance(app.recorder, RunRecorder)
    assert [when for when, *_ in app.recorder.states] == sorted(w for w, *_ in app.recorder.states)
    closed = app.broker.closed_trades()  # type: ignore[attr-defined]
    trades = outcomes(stats.entries, stats.closes, closed, app.broker.positions())
    files = write_price_charts(
        tmp_path,
        series,
        trades=trades,
        states=app.recorder.states,
        actions=app.recorder.actions,
        timeframe="M5",
    )
    assert [f.name for f in files] == ["XAUUSD.png"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_losing_streak_does_not_follow_the_order_of_the_files() -> None:
    """Two trades of one step, opened and closed together on two symbols, one lost and
    one won: their tickets follow the order of the data files, so counting their closes in
    ticket order made a streak of 3 in one order of the files and 1 in the other."""
    from hostapp.outcomes import Outcome

    def made(ticket: int, symbol: str, at: datetime, r: float) -> Outcome:
        return Outcome(
            ticket, symbol, "buy", 1.0, at - timedelta(hours=1), 1.0, 0.9, None, "s", at,
            1.0 + r / 10, "exit", r * 10, r,
        )  # fmt: skip

    first = [made(1, "XAUUSD", T, -1.0), made(2, "XAUUSD", T + timedelta(hours=1), -1.0)]
    at = T + timedelta(hours=2)
    streaks = {
        metrics([*first, made(3, symbol_a, at, r_a), made(4, symbol_b, at, r_b)])[
            "longest_losing_streak"
        ]
        for (symbol_a, r_a), (symbol_b, r_b) in (
            (("EURUSD", 1.0), ("XAUUSD", -1.0)),
            (("XAUUSD", -1.0), ("EURUSD", 1.0)),
        )
    }
    assert streaks == {2}
