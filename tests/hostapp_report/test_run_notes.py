"""What the host itself tells under a run's summary: the broker's refusals of orders (a
run that traded nothing says why) and the plugins that failed (isolated, so the run went
on), besides the plugins' own notes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.replay_cli import ROOT

from hostapp.hookcalls import PluginInfo
from hostapp.loop import LoopStats
from hostapp.market.synthetic import generate_bars
from hostapp.run_notes import plugin_failure_notes, refusals_note, timeframe_note, vetoes_note


def test_refusals_are_counted_by_code_with_their_first_message() -> None:
    stats = LoopStats(orders_proposed=10)
    assert refusals_note(stats) is None
    stats.refused("invalid_stops", "stop loss 584.32 is 0.41 from the ask")
    stats.refused("no_money", "equity is not positive")
    stats.refused("no_money", "equity is still not positive")
    assert stats.orders_rejected == 3
    assert refusals_note(stats) == (
        "the broker refused 3 of the 10 orders proposed: no_money 2 (equity is not "
        "positive); invalid_stops 1 (stop loss 584.32 is 0.41 from the ask)"
    )


def test_large_counts_have_thousands_separators() -> None:
    stats = LoopStats(orders_proposed=7631)
    for _ in range(4102):
        stats.refused("no_money", "equity is not positive")
        stats.veto("dtms: account defensive mode")
    assert refusals_note(stats) == (
        "the broker refused 4,102 of the 7,631 orders proposed: no_money 4,102 (equity is "
        "not positive)"
    )
    assert vetoes_note(stats) == (
        "4,102 of the 7,631 orders proposed were vetoed: 4,102 × dtms: account defensive mode"
    )


def test_vetoed_orders_are_counted_by_reason_the_most_frequent_first() -> None:
    stats = LoopStats(orders_proposed=30)
    assert vetoes_note(stats) is None
    for reason in ["guard: 3 trades open"] * 2 + ["dtms: account defensive"] * 5 + list("abc"):
        stats.veto(reason)
    # five kinds: all said (the fourth kind hidden was the plugin author's own)
    assert vetoes_note(stats) == (
        "10 of the 30 orders proposed were vetoed: 5 × dtms: account defensive; "
        "2 × guard: 3 trades open; 1 × a; 1 × b; 1 × c"
    )


def test_past_six_kinds_of_veto_the_rest_are_counted_in_good_grammar() -> None:
    stats = LoopStats(orders_proposed=30)
    for reason in ["g: big"] * 3 + list("abcdef"):
        stats.veto(reason)
    assert vetoes_note(stats) == (
        "9 of the 30 orders proposed were vetoed: 3 × g: big; 1 × a; 1 × b; 1 × c; 1 × d; "
        "and 2 other kinds (2 orders)"
    )
    stats = LoopStats(orders_proposed=30)
    for reason in list("abcdefg"):
        stats.veto(reason)
    assert vetoes_note(stats).endswith("1 × e; and 2 other kinds (2 orders)")


def test_a_failed_plugin_is_named_with_its_last_error() -> None:
    ok = PluginInfo("exits", None, None, "entry point")
    failed = PluginInfo("sma", None, None, "entry point", error="propose_orders: boom")
    tripped = PluginInfo("x", None, None, "entry point", status="tripped", error="breaker")
    assert plugin_failure_notes([ok, failed, tripped]) == [
        "plugin sma failed: propose_orders: boom (hostapp.log says each episode of failures)",
        "plugin x was switched off: breaker (hostapp.log says each episode of failures)",
    ]


def test_a_replay_whose_orders_the_broker_refuses_says_why(tmp_path: Path) -> None:
    """The example strategy asked for 0.001 lots, under the paper broker's minimum of
    0.01: the broker refuses its orders, and the summary says so. (It widens a stop
    inside the stops level itself, so stops no longer get its orders refused.)"""
    bars = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 3000, seed=4)
    rows = [
        f"{b.time:%Y-%m-%d %H:%M},{b.open / 4:.2f},{b.high / 4:.2f},{b.low / 4:.2f},"
        f"{b.close / 4:.2f}"
        for b in bars
    ]
    (tmp_path / "XAUUSD.csv").write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
    (tmp_path / "plugins.toml").write_text(
        '[plugin.sma_strategy]\nsizing = "fixed"\nvolume = 0.001\n'
    )
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    (note,) = [n for n in summary["host_notes"] if n.startswith("the broker refused")]
    assert f"refused {summary['orders_rejected']} of the {summary['orders_proposed']}" in note
    assert "invalid_volume" in note and "below the minimum 0.01" in note


def test_bars_traded_on_a_coarser_timeframe_are_told(tmp_path: Path) -> None:
    from hostapp.run_notes import timeframe_note

    assert timeframe_note("M5", "M5") is None
    assert timeframe_note("M5", "M5", "M5") is None
    assert timeframe_note("M1", "M5", "M5") == (
        "the data's M1 bars were traded as M5 bars built from them (the host's timeframe, "
        "[host] timeframe; --timeframe M1 trades on the data's own); stops and targets were "
        "still checked on every M1 bar, so the results differ from a replay of M5 bars"
    )
    bars = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 600, timeframe="M1", seed=4)
    rows = [f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}" for b in bars]
    (tmp_path / "XAUUSD.csv").write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
    notes = {}
    for tf in ("m5", "m1"):  # any case; the summary spells it one way
        proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--timeframe", tf, "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads(proc.stdout)
        assert summary["timeframe"] == tf.upper()
        notes[tf] = [n for n in summary["host_notes"] if n.startswith("the data's")]
    assert len(notes["m5"]) == 1 and notes["m1"] == []


def test_a_timeframe_asked_for_says_so_and_that_stops_see_the_finer_bars() -> None:
    """``--timeframe H4`` on H1 data: the note said "(the host's timeframe; …)", which it
    was not, and not that the stops were still checked on each H1 bar."""
    from hostapp.run_notes import timeframe_note

    assert timeframe_note("H1", "H4", "M5") == (
        "the data's H1 bars were traded as H4 bars built from them (as --timeframe H4 "
        "asked); stops and targets were still checked on every H1 bar, so the results "
        "differ from a replay of H4 bars"
    )


def test_a_replay_of_h1_bars_says_which_timeframe_it_traded_and_why(tmp_path: Path) -> None:
    """The shipped plugins.toml says M5; H1 data is replayed on H1 (said), or on H4 bars
    built from it when --timeframe asks (said, with what that means for the stops)."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    bars = generate_bars("EURUSD", datetime(2024, 1, 2, tzinfo=UTC), 600, timeframe="H1", seed=4)
    rows = [f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}" for b in bars]
    (tmp_path / "EURUSD.csv").write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
    said = {}
    for args in ((), ("--timeframe", "H4")):
        proc = hostapp(tmp_path, "replay", "EURUSD.csv", *args, "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        notes = json.loads(proc.stdout)["host_notes"]
        said[args] = [n for n in notes if "timeframe" in n]
    assert said[()] == [
        "[host] timeframe M5 was not used: the data's bars are H1, and bars are built up "
        "from finer ones, never down; the run traded on H1 bars"
    ]
    assert said[("--timeframe", "H4")] == [timeframe_note("H1", "H4", "M5")]


def test_weekends_are_no_gap_but_a_missing_month_is() -> None:
    from hostapp.data import data_gaps_note

    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    m5 = generate_bars("EURUSD", start, 6000, seed=1)  # three weeks, weekends skipped
    d1 = generate_bars("EURUSD", start, 300, timeframe="D1", seed=1)
    assert data_gaps_note({"EURUSD": m5}, "M5") is None
    assert data_gaps_note({"EURUSD": d1}, "D1") is None
    later = generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 600, seed=2)
    note = data_gaps_note({"EURUSD": m5 + later, "XAUUSD": m5}, "M5")
    assert note is not None
    assert note.startswith("the bars stop for more than 4 days in places: EURUSD 1 (")
    assert f"from {m5[-1].time:%Y-%m-%d %H:%M} to 2024-03-04 00:00" in note
    assert "XAUUSD" not in note


def test_a_replay_of_files_a_month_apart_says_where_the_bars_stop(tmp_path: Path) -> None:
    """Two monthly files joined with the month between them missing: the replay runs
    (the files do not overlap) and its summary says where the bars stop."""
    january = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 3000, seed=4)
    march = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 3000, seed=5)
    for name, bars in (("XAUUSD-2024-01.csv", january), ("XAUUSD-2024-03.csv", march)):
        rows = [f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}" for b in bars]
        (tmp_path / name).write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
    args = ("replay", "XAUUSD-2024-03.csv", "XAUUSD-2024-01.csv", "--symbol", "XAUUSD")
    proc = hostapp(tmp_path, *args, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (note,) = [n for n in json.loads(proc.stdout)["host_notes"] if "bars stop" in n]
    gap = f"{(march[0].time - january[-1].time) / timedelta(days=1):.0f}"
    assert f"XAUUSD 1 (the longest {gap} days from {january[-1].time:%Y-%m-%d %H:%M}" in note
    text = hostapp(tmp_path, *args)
    assert text.returncode == 0 and "note: the bars stop for more than 4 days" in text.stdout


def test_a_replay_of_symbols_whose_files_end_apart_says_so(tmp_path: Path) -> None:
    """One symbol's file ends a month before the other's: the run goes on to the later
    file's end with the early one's positions held at its last price, which only the
    summary's note says (the trades were "still open at the end", nothing said why)."""
    start = datetime(2024, 1, 2, tzinfo=UTC)
    long = generate_bars("XAUUSD", start, 12000, seed=4)
    short = generate_bars("EURUSD", start, 3000, seed=5)
    for name, bars in (("XAUUSD.csv", long), ("EURUSD.csv", short)):
        rows = [f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}" for b in bars]
        (tmp_path / name).write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "EURUSD.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (note,) = [n for n in json.loads(proc.stdout)["host_notes"] if "same dates" in n]
    assert f"EURUSD's to {short[-1].time:%Y-%m-%d %H:%M}" in note and "XAUUSD's" not in note
    assert f"to {long[-1].time:%Y-%m-%d %H:%M})" in note  # the run's end


def test_symbols_over_the_same_dates_give_no_span_note() -> None:
    from hostapp.data import data_spans_note

    start = datetime(2024, 1, 1, tzinfo=UTC)
    a = generate_bars("EURUSD", start, 3000, seed=1)
    b = generate_bars("XAUUSD", start + timedelta(days=1), 2700, seed=2)  # a day apart
    assert data_spans_note({"EURUSD": a, "XAUUSD": b}, "M5") is None
    assert data_spans_note({"EURUSD": a}, "M5") is None
    late = generate_bars("XAUUSD", start + timedelta(days=10), 600, seed=2)
    note = data_spans_note({"EURUSD": a, "XAUUSD": late}, "M5")
    assert note is not None and f"XAUUSD's from {late[0].time:%Y-%m-%d %H:%M};" in note
    assert "EURUSD's" not in note


def test_a_switched_off_plugin_says_what_its_fail_safe_answers_did_since() -> None:
    """A crashing guard switched off vetoed every order after (a run of 0 trades), and
    a crashing defender held every trade away from the exit manager; the note said only
    that it was switched off."""
    guard = PluginInfo(
        "guard", None, None, "entry point", ["allow_order"], "tripped", "breaker tripped"
    )
    defender = PluginInfo(
        "dfd", None, None, "entry point", ["is_defensive", "on_cycle"], "tripped", "breaker"
    )
    stats = LoopStats(orders_proposed=60)
    for _ in range(42):
        stats.veto("guard: switched off, so its allow_order vetoes (fails closed)")
    said = plugin_failure_notes([guard, defender], stats)
    assert said[0] == (
        "plugin guard was switched off: breaker tripped; its allow_order now vetoes every "
        "entry: 42 vetoed since (hostapp.log says each episode of failures)"
    )
    assert "; its is_defensive answers True for every trade since" in said[1]
