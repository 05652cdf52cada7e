"""The report's charts: real PNGs of the promised size, and legends that name only what
was drawn on that chart (no state that never happened, no outcome no trade had)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.dates as mdates
import pytest

from hookspecs import Action, ActionKind, ActionResult, Bar, DefensiveState, ResultCode, Timeframe
from hostapp.chart_canvas import legend_labels, num
from hostapp.charts import _broken_at_gaps, _price_figure, _state_bands, write_price_charts
from hostapp.outcomes import Outcome
from hostapp.result_charts import equity_figure, r_figure, write_equity_chart, write_r_histogram

T = datetime(2024, 1, 1, tzinfo=UTC)
M5 = 300
H = DefensiveState.HEALTHY
L1, L2 = DefensiveState.WARNING_L1, DefensiveState.WARNING_L2
HEDGED, RECOVERING = DefensiveState.HEDGED, DefensiveState.RECOVERING


def _bars(count: int = 100) -> list[Bar]:
    prices = [1.1 + 0.001 * ((i % 20) - 10) for i in range(count)]
    return [
        Bar(T + timedelta(seconds=M5 * i), p, p + 0.0005, p - 0.0005, p)
        for i, p in enumerate(prices)
    ]


def _at(bar: int) -> datetime:
    """The close of bar ``bar``: when a trade there was seen."""
    return T + timedelta(seconds=M5 * (bar + 1))


def _outcome(ticket: int, opened: int, closed: int | None, r: float | None, **kw: str) -> Outcome:
    return Outcome(
        ticket=ticket,
        symbol=kw.get("symbol", "EURUSD"),
        direction=kw.get("direction", "buy"),
        volume=0.1,
        opened_at=_at(opened),
        entry_price=1.1,
        initial_stop=1.099,
        take_profit=None,
        source="test",
        closed_at=None if closed is None else _at(closed),
        exit_price=None if closed is None else 1.1 + 0.001 * (r or 0.0),
        close_reason="" if closed is None else "stop_loss",
        profit=0.0 if r is None else 10.0 * r,
        r=r,
    )


def _action(
    ticket: int, kind: ActionKind, bar: int, ok: bool = True
) -> tuple[datetime, Action, ActionResult]:
    result = ActionResult.success() if ok else ActionResult.failure(ResultCode.NOT_FOUND, "no")
    return (_at(bar), Action(ticket, kind, key=f"{ticket}:{kind.value}:{bar}"), result)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _price_labels(
    trades: Sequence[Outcome],
    states: Sequence[tuple[datetime, int, DefensiveState, DefensiveState, str]] = (),
    actions: Sequence[tuple[datetime, Action, ActionResult]] = (),
) -> list[str]:
    fig = _price_figure(
        "EURUSD",
        _bars(),
        trades=trades,
        states=states,
        actions=actions,
        timeframe=Timeframe.M5,
        until=None,
        title="run",
    )
    assert fig is not None
    return legend_labels(fig)


def test_price_charts_are_pngs_of_the_report_size_one_per_symbol(tmp_path: Path) -> None:
    trades = [_outcome(1, 10, 20, 1.5), _outcome(2, 30, 40, -1.0, direction="sell")]
    states = [(_at(12), 1, H, L1, "adverse"), (_at(20), 1, L1, DefensiveState.CLOSED, "")]
    paths = write_price_charts(
        tmp_path / "charts",
        {"EURUSD": _bars(), "XAUUSD": _bars(50), "EMPTY": []},
        trades=trades,
        states=states,
        actions=[_action(1, ActionKind.TIGHTEN_SL, 12)],
        timeframe=Timeframe.M5,
        title="with dtms (full)",
    )
    assert paths == [tmp_path / "charts" / "EURUSD.png", tmp_path / "charts" / "XAUUSD.png"]
    for path in paths:
        assert _png_size(path) == (1400, 600)


def test_legend_names_only_states_and_outcomes_that_happened() -> None:
    trades = [_outcome(1, 10, 20, 1.5), _outcome(2, 30, 45, 2.0, direction="sell")]
    states = [
        (_at(12), 1, H, L1, "adverse"),
        (_at(14), 1, L1, L2, "worse"),
        (_at(20), 1, L2, DefensiveState.CLOSED, "closed"),
    ]
    labels = _price_labels(trades, states, [_action(1, ActionKind.TIGHTEN_SL, 12)])
    assert "win (2)" in labels
    assert "DTMS WARNING_L1" in labels and "DTMS WARNING_L2" in labels
    assert "stop moved (1)" in labels
    assert "buy entry" in labels and "sell entry" in labels
    assert not [label for label in labels if "loss" in label]
    assert not [label for label in labels if "HEDGED" in label or "RECOVERING" in label]
    assert not [label for label in labels if "hedge" in label or "open at end" in label]
    assert all(label.strip() for label in labels)


def test_losses_hedges_and_open_trades_get_their_own_entries() -> None:
    trades = [_outcome(1, 10, 60, -1.0), _outcome(2, 70, None, None, direction="sell")]
    states = [(_at(12), 1, H, L1, ""), (_at(20), 1, L2, HEDGED, ""), (_at(40), 1, HEDGED, H, "")]
    actions = [
        _action(1, ActionKind.HEDGE, 20),
        _action(1, ActionKind.CLOSE_HEDGE, 40),
        _action(1, ActionKind.CLOSE, 50, ok=False),  # refused: not drawn
    ]
    labels = _price_labels(trades, states, actions)
    assert "loss (1)" in labels and "open at end (1)" in labels
    assert "DTMS HEDGED" in labels
    assert "hedge opened (1)" in labels and "hedge closed (1)" in labels
    assert not [label for label in labels if label.startswith(("win", "closed by DTMS"))]
    assert "sell entry" in labels and "buy entry" in labels


def test_title_counts_trades_wins_and_losses_of_that_symbol() -> None:
    trades = [
        _outcome(1, 10, 20, 1.0),
        _outcome(2, 30, 40, -1.0),
        _outcome(3, 50, 60, 2.0),
        _outcome(4, 10, 20, 3.0, symbol="XAUUSD"),  # another chart's trade
    ]
    fig = _price_figure(
        "EURUSD", _bars(), trades=trades, states=[], actions=[], timeframe=Timeframe.M5, until=None,
        title="without dtms",
    )  # fmt: skip
    assert fig is not None
    title = fig.axes[0].get_title()
    assert "EURUSD" in title and "without dtms" in title
    assert "3 trades: 2 won, 1 lost" in title
    assert "net +2.0 R" in title
    assert fig.axes[0].get_ylabel() == "EURUSD price (M5 close)"
    assert len(fig.axes) == 1  # no state happened: no state strip


def test_the_price_axis_names_the_timeframe_by_its_name_monthly_included(
    tmp_path: Path,
) -> None:
    """The label is the timeframe's own name (hookspecs' one definition), not a table of
    lengths kept beside it that knew no month."""
    months = [Bar(datetime(2020, m, 1, tzinfo=UTC), 1.1, 1.2, 1.0, 1.15) for m in range(1, 13)]
    (path,) = write_price_charts(
        tmp_path, {"EURUSD": months}, trades=[], states=[], actions=[], timeframe="MN1"
    )
    assert path.name == "EURUSD.png"
    fig = _price_figure(
        "EURUSD", months, trades=[], states=[], actions=[], timeframe=Timeframe.MN1,
        until=None, title="",
    )  # fmt: skip
    assert fig is not None
    assert fig.axes[0].get_ylabel() == "EURUSD price (MN1 close)"


def test_until_cuts_the_chart_and_leaves_later_closes_open() -> None:
    trades = [_outcome(1, 10, 80, 1.0), _outcome(2, 60, 70, -1.0)]
    fig = _price_figure(
        "EURUSD", _bars(), trades=trades, states=[], actions=[], timeframe=Timeframe.M5,
        until=_at(50), title="",
    )  # fmt: skip
    assert fig is not None
    assert "1 trades: 0 won, 0 lost, 1 open at end" in fig.axes[0].get_title()
    labels = legend_labels(fig)
    assert "open at end (1)" in labels and "exit" not in labels
    left, right = fig.axes[0].get_xlim()
    assert mdates.num2date(right) == _at(50)
    assert mdates.num2date(left) == T


def test_a_run_from_a_time_on_is_drawn_from_its_first_traded_bar() -> None:
    """``replay --from``: the bars before it were history, not traded; the chart shows
    the run, and trades opened in the history's span (none can be) are not counted."""
    fig = _price_figure(
        "EURUSD", _bars(), trades=[_outcome(1, 60, 70, 1.0)], states=[], actions=[],
        timeframe=Timeframe.M5, until=None, title="", since=_at(39),
    )  # fmt: skip
    assert fig is not None
    left, right = fig.axes[0].get_xlim()
    assert mdates.num2date(left) == _at(39) and mdates.num2date(right) == _at(99)
    assert "1 trades: 1 won" in fig.axes[0].get_title()


def test_state_bands_last_until_the_next_change_or_the_close() -> None:
    trades = [_outcome(1, 10, 30, -1.0), _outcome(2, 40, None, None)]
    states = [
        (_at(12), 1, H, L1, ""),
        (_at(15), 1, L1, L2, ""),
        (_at(18), 1, L2, RECOVERING, ""),
        (_at(45), 2, H, L1, ""),
        (_at(5), 99, H, HEDGED, ""),  # a ticket not on this chart
    ]
    bands = _state_bands(trades, states, end=_at(99))
    assert bands == {
        L1: [(_at(12), _at(15)), (_at(45), _at(99))],
        L2: [(_at(15), _at(18))],
        RECOVERING: [(_at(18), _at(30))],
    }


def test_equity_chart_shows_every_run_with_its_drawdown(tmp_path: Path) -> None:
    curves = {
        "without dtms": [(_at(10), 10_500.0), (_at(20), 10_200.0), (_at(30), 10_600.0)],
        "with dtms (full)": [(_at(15), 9_900.0)],
    }
    path = write_equity_chart(tmp_path / "equity.png", curves, start_balance=10_000.0, start=T)
    assert _png_size(path) == (1400, 600)
    labels = legend_labels(equity_figure(curves, start_balance=10_000.0, start=T))
    assert labels == [
        "without dtms: end 10,600.00 (+600.00), max drawdown 300.00 (2.9%)",
        "with dtms (full): end 9,900.00 (-100.00), max drawdown 100.00 (1.0%)",
    ]


def test_r_histogram_legends_count_and_mean_of_each_run(tmp_path: Path) -> None:
    rs = {"without dtms": [-1.0, -1.0, 2.0, 0.5], "with dtms (full)": [-0.5, 1.5], "none": []}
    path = write_r_histogram(tmp_path / "r.png", rs)
    assert _png_size(path) == (1400, 600)
    assert legend_labels(r_figure(rs)) == [
        "without dtms: 4 trades, mean +0.12 R",
        "with dtms (full): 2 trades, mean +0.50 R",
    ]


@pytest.mark.parametrize("rs", [{}, {"a": []}, {"a": [1.0, 1.0]}])
def test_r_histogram_with_no_or_identical_results_still_draws(
    tmp_path: Path, rs: dict[str, list[float]]
) -> None:
    path = write_r_histogram(tmp_path / "r.png", rs)
    assert _png_size(path) == (1400, 600)


def test_date_numbers_are_matplotlibs() -> None:
    """The chart's own conversion (a subtraction) gives what ``date2num`` gives."""
    for when in (
        T,
        T + timedelta(days=400, seconds=17, microseconds=250),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ):
        assert num(when) == pytest.approx(float(mdates.date2num(when)), abs=1e-9)


def test_the_close_line_breaks_where_the_market_was_shut() -> None:
    friday = datetime(2024, 1, 5, 21, 50, tzinfo=UTC)
    times = [friday, friday + timedelta(minutes=5), friday + timedelta(days=2, minutes=15)]
    xs, ys = _broken_at_gaps(times, [1.0, 2.0, 3.0], timedelta(minutes=15))
    assert ys[:2] == [1.0, 2.0] and ys[3] == 3.0 and ys[2] != ys[2]  # NaN: lifted
    assert xs[2] != xs[2] and xs[3] == pytest.approx(float(mdates.date2num(times[2])), abs=1e-9)
    assert len(xs) == len(ys) == 4


def test_an_equity_chart_without_a_trade_spans_the_replay() -> None:
    """No run traded: the axis runs from the start to where the replay got to, not
    matplotlib's default of years around one point."""
    start = datetime(2024, 1, 2, tzinfo=UTC)
    until = start + timedelta(hours=33)
    fig = equity_figure({"without": [], "with": []}, start_balance=1e4, start=start, until=until)
    low, high = fig.axes[1].get_xlim()
    assert (mdates.num2date(low), mdates.num2date(high)) == (start, until)


def test_a_stopped_run_ends_where_it_got_not_flat_to_the_others_end() -> None:
    curves = {
        "without dtms": [(_at(10), 10_500.0), (_at(30), 10_600.0)],
        "with dtms (same entries)": [(_at(12), 10_700.0)],
    }
    fig = equity_figure(
        curves,
        start_balance=1e4,
        start=T,
        until=_at(40),
        stopped={"with dtms (same entries)": _at(20)},
    )
    top = fig.axes[0]
    ends = [mdates.num2date(line.get_xdata()[-1]) for line in top.get_lines()[:2]]
    assert ends == [_at(40), _at(20)]
    assert legend_labels(fig)[1].endswith(f", stopped at {_at(20):%Y-%m-%d %H:%M}")
