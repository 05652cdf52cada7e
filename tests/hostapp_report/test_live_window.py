"""A live run's report keeps a window of its newest trades, state changes and actions
instead of every one since start, while its counts stay totals."""

from datetime import UTC, datetime, timedelta

from hookspecs import Action, ActionKind, ActionResult, DefensiveState, ResultCode, Trade
from hostapp.loop import LoopStats
from hostapp.report import RunRecorder, summarize, summary_table

T0 = datetime(2024, 1, 2, tzinfo=UTC)
REASONS = ("stop_loss", "take_profit", "action")
KINDS = (ActionKind.TIGHTEN_SL, ActionKind.CLOSE, ActionKind.PARTIAL_CLOSE)


def _fill(stats: LoopStats, recorder: RunRecorder, n: int) -> None:
    for i in range(n):
        at = T0 + timedelta(minutes=5 * i)
        trade = Trade(i + 1, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, None, at)
        stats.entries.append((at, trade, "sma" if i % 2 else "other"))
        stats.closes.append((at, trade, REASONS[i % 3]))
        new = DefensiveState.WARNING_L1 if i % 2 else DefensiveState.HEALTHY
        recorder.states.append((at, i + 1, DefensiveState.HEALTHY, new, "test"))
        ok = i % 4 != 0
        result = ActionResult.success() if ok else ActionResult.failure(ResultCode.NOT_FOUND, "x")
        action = Action(i + 1, KINDS[i % 3], key=f"{i}", source="dtms" if i % 5 else "exits")
        recorder.actions.append((at, action, result))


def _summary(stats: LoopStats, recorder: RunRecorder) -> dict:
    return summarize(
        stats=stats, recorder=recorder, closed=[], open_positions=[], start_balance=1000.0,
        balance=1000.0,
    )  # fmt: skip


def test_bounded_report_keeps_the_window_and_exact_totals() -> None:
    full_stats, full_recorder = LoopStats(), RunRecorder()
    stats, recorder = LoopStats(), RunRecorder()
    _fill(stats, recorder, 3)  # what came before the bound is counted too
    stats.bound(10)
    recorder.bound(10)
    _fill(full_stats, full_recorder, 3)
    _fill(stats, recorder, 50)
    _fill(full_stats, full_recorder, 50)
    assert len(stats.entries) == len(stats.closes) == 10
    assert len(recorder.states) == len(recorder.actions) == 10
    assert stats.entries[-1] == full_stats.entries[-1]
    assert list(recorder.actions) == full_recorder.actions[-10:]
    full, bounded = _summary(full_stats, full_recorder), _summary(stats, recorder)
    for key in ("trades", "closes_by_reason", "actions", "actions_failed", "actions_by_source"):
        assert bounded[key] == full[key], key
    assert full["trades"] == 53 and sum(full["actions"].values()) > 10


def test_bounded_report_counts_the_trades_closed_and_the_states_reached_in_all() -> None:
    """A live run past its window printed "trades closed 1000" of 3,618 and counted the
    states reached in the window only, while "trades opened" was a total."""
    full_stats, full_recorder = LoopStats(), RunRecorder()
    stats, recorder = LoopStats(), RunRecorder()
    stats.bound(10)
    recorder.bound(10)
    for run_stats, run_recorder in ((stats, recorder), (full_stats, full_recorder)):
        _fill(run_stats, run_recorder, 50)
        for i, new in enumerate(("WARNING_L1", "HEALTHY", "WARNING_L1", "CLOSED", "CLOSED")):
            old = DefensiveState.HEALTHY if i == 0 else DefensiveState.WARNING_L1
            state = (T0 + timedelta(hours=i), 7, old, DefensiveState(new), "test")
            run_recorder.states.append(state)  # ticket 7 falls back into WARNING_L1
        opened_not_closed = Trade(99, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, None, T0)
        run_stats.entries.append((T0, opened_not_closed, "sma"))
    full, bounded = _summary(full_stats, full_recorder), _summary(stats, recorder)
    assert full["closed_trades"] == bounded["closed_trades"] == 50
    assert full["states_reached"] == bounded["states_reached"]
    assert full["states_reached"]["WARNING_L1"] == 26 and full["states_reached"]["CLOSED"] == 1
    assert bounded["figures_cover"] == 10 and "figures_cover" not in full
    assert bounded["trades"] == 51
    assert "are those of the newest 10 trades of 51; the counts are totals" in summary_table(
        bounded
    )
