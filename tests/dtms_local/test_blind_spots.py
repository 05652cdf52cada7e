"""What DTMS worked without, in the run's report: the signals its scores lacked (counted
per scoring, explained per signal, said for a replay of bars without volume) and the
hedges its spread rail had no spread history to judge."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from support.dtms_kit import SETTINGS, T0, snapshot
from support.dtms_local_rig import Rig

from dtms_plugin.blind_spots import BlindSpots
from dtms_plugin.engine import OrderFlow, ScoreBreakdown
from hookspecs import Action, ActionKind, Bar
from hostapp.cli import main
from hostapp.market.synthetic import generate_bars


def test_counts_each_scoring_and_leaves_out_absent_order_flow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gaps = BlindSpots(SETTINGS, logging.getLogger("test.blind"))
    bare = snapshot()  # every feature missing, no order flow
    with caplog.at_level("INFO", logger="test.blind"):
        for _ in range(3):
            gaps.scored(bare.score("buy"), bare)
    said = [r.getMessage() for r in caplog.records]  # once per signal, not per scoring
    assert len(said) == 5 and said[1] == (
        "DTMS XAUUSD: a score without vwap_volume (no session VWAP: the M5 bars carry no "
        "volume); it counts 0, and the run's report says how often"
    )
    warm = snapshot(
        signal_close=2000.0, swing_high=2010.0, swing_low=1990.0, vwap=2000.0,
        rsi=50.0, rsi_prev=49.0, hist=(0.1, 0.2, 0.3), ema_fast_slope=0.1,
        atr_fast=1.0, order_flow=OrderFlow(10.0, 5.0, None), symbol="EURUSD",
    )  # fmt: skip
    gaps.scored(warm.score("buy"), warm)
    assert gaps.scorings == 4
    # delta_pressure: not counted without order flow (optional), counted with it
    assert gaps.missing == {
        "structure": 3,
        "vwap_volume": 3,
        "momentum": 3,
        "ema_alignment": 4,
        "delta_pressure": 1,
        "candle_conviction": 3,
    }
    [text] = gaps.sentences()
    assert text.startswith("scored trades 4 times, some without a signal")
    assert "ema_alignment every time on XAUUSD, EURUSD (the EMA slopes had not seen" in text
    assert "vwap_volume 3 times on XAUUSD (no session VWAP: the M5 bars carry no volume)" in text
    assert "delta_pressure once on EURUSD (order flow without a delta z yet)" in text


def test_only_absent_order_flow_missing_is_no_sentence() -> None:
    gaps = BlindSpots(SETTINGS)
    assert gaps.sentences() == []
    snap = snapshot()
    full = ScoreBreakdown(
        total=0.0, subscores=(0.0,) * 6, weights=snap.weights, missing=("delta_pressure",),
        regime=snap.regime, confluence=0.0, confluence_against=False, vwap_slope_against=False,
    )  # fmt: skip
    gaps.scored(full, snap)
    assert gaps.scorings == 1 and gaps.missing == {} and gaps.sentences() == []


def test_hedges_and_re_adds_without_spread_history_are_counted() -> None:
    gaps = BlindSpots(SETTINGS)
    blind, judged = snapshot(), snapshot(median_spread=0.3)
    for kind in ActionKind:
        gaps.sent(Action(1, kind, {}, "why", f"1:0:{kind}"), blind)
        gaps.sent(Action(1, kind, {}, "why", f"1:0:{kind}"), judged)
    gaps.sent(Action(1, ActionKind.HEDGE, {}, "why", "1:1:hedge"), None)
    assert gaps.unjudged == 3  # hedge and re_add on the blind snapshot, and no snapshot
    assert gaps.sentences() == [
        "sent 3 hedge(s) or re-add(s) on XAUUSD, ? that the spread rail could not judge (the "
        "M5 bars carry no spread)"
    ]


def test_a_symbol_without_its_own_vwap_slope_base_is_named_with_the_default() -> None:
    """A symbol under a name DTMS has no entry for (``SPY_us``) took the default VWAP
    slope base without a word: the report names it, the default and the table; the
    symbols of the table, a suffixed one and a JPY pair (which has its own) are not."""
    gaps = BlindSpots(SETTINGS)
    for symbol in ("XAUUSD", "EURUSD.m", "GBPJPY", "SPY_us", "SPY_us", "US500"):
        snap = snapshot(symbol=symbol)
        gaps.scored(snap.score("buy"), snap)
    said = gaps.defaults()
    assert said == (
        "scored SPY_us, US500 with regime.vwap_slope_default (0.001) as the VWAP slope "
        "base: regime.vwap_slope_base has no entry for them ([plugin.dtms.regime] tables "
        "set one by symbol)"
    )
    assert said in gaps.sentences()
    known = BlindSpots(SETTINGS)
    snap = snapshot(symbol="XAUUSD")
    known.scored(snap.score("buy"), snap)
    assert known.defaults() is None
    widths = replace(
        SETTINGS, regime=replace(SETTINGS.regime, range_width_by_symbol={"EURUSD": 0.002})
    )
    by_width = BlindSpots(widths)
    by_width.scored(snap.score("buy"), snap)
    assert by_width.defaults() == (
        "scored XAUUSD with regime.range_width (0.004): regime.range_width_by_symbol has no "
        "entry for it ([plugin.dtms.regime] tables set one by symbol)"
    )


def test_bars_whose_volume_starts_later_are_said_with_the_count_and_the_day() -> None:
    """An index's daily history (SPX's bars before 1998-10-06 carry no volume, those
    after do) was said "the D1 bars carry no volume": the note counts the bars scored
    on without it, per symbol, and from when every one has it."""
    gaps = BlindSpots(SETTINGS)
    day = timedelta(days=1)
    for i in range(6):
        volume = 0.0 if i < 4 else 1000.0
        bar = Bar(T0 + i * day, 2000.0, 2001.0, 1999.0, 2000.0, volume)
        snap = snapshot(bar=bar, vwap=None if volume == 0.0 else 2000.0)
        for _ in range(2):  # two trades scored on one bar: the bar counts once
            gaps.scored(snap.score("buy"), snap)
    [text] = gaps.sentences()
    assert "the M5 bars carry no volume" not in text
    first = T0 + 4 * day
    assert (
        "vwap_volume 8 times on XAUUSD (no session VWAP where the bars carry no volume: 4 of "
        f"the 6 M5 bars of XAUUSD scored on carry no volume, every one from {first:%Y-%m-%d %H:%M} "
        "on does)"
    ) in text
    again = Bar(T0 + 6 * day, 2000.0, 2001.0, 1999.0, 2000.0, 0.0)  # none again: no "from"
    snap = snapshot(bar=again)
    gaps.scored(snap.score("buy"), snap)
    assert "5 of the 7 M5 bars of XAUUSD scored on carry no volume)" in gaps.sentences()[0]


@pytest.mark.parametrize("volume", [True, False])
def test_a_replay_of_bars_without_volume_or_spread_says_what_dtms_lacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, volume: bool
) -> None:
    monkeypatch.chdir(tmp_path)  # no plugins.toml here: the defaults
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 3000, seed=3)
    data = write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    if not volume:  # as forex data often comes: time and prices only
        rows = [line.split(",")[:5] for line in data.read_text().splitlines()]
        data.write_text("\n".join(",".join(r) for r in rows) + "\n")
    assert main(["replay", str(data), "--report", str(tmp_path / "rep")]) == 0
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    report = summary["plugin_reports"]["dtms"]
    assert report["scorings"] > 100
    if volume:
        assert "vwap_volume" not in report["missing_signals"]
        assert "vwap_volume" not in report.get("note", "")
    else:
        assert report["missing_signals"]["vwap_volume"] == report["scorings"]
        said = "vwap_volume every time on XAUUSD (no session VWAP: the M5 bars carry no volume)"
        assert said in report["note"]


def test_a_replay_whose_volume_starts_later_uses_the_vwap_from_then_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first half of the bars without volume, the rest with: DTMS scores with the
    session VWAP wherever a session has volume, and says how many bars lacked it."""
    monkeypatch.chdir(tmp_path)
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 3000, seed=3)
    half = bars[1500].time
    bars = [b if b.time >= half else replace(b, volume=0.0) for b in bars]
    data = write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    assert main(["replay", str(data), "--report", str(tmp_path / "rep")]) == 0
    report = json.loads((tmp_path / "rep" / "summary.json").read_text())["plugin_reports"]["dtms"]
    missing = report["missing_signals"]["vwap_volume"]
    assert 0 < missing < report["scorings"]
    assert "the M5 bars carry no volume" not in report["note"]
    assert "no session VWAP where the bars carry no volume: " in report["note"]
    assert " M5 bars of XAUUSD scored on carry no volume, every one from 2024-03-" in report["note"]


@pytest.mark.parametrize("spread", [0.2, 0.0])
async def test_a_hedge_without_spread_history_is_said(tmp_path: Path, spread: float) -> None:
    """The rig's falling market hedges the buy after 36 cycles; on bars without a spread
    the spread rail had nothing to judge that hedge by, and the report says so."""
    rig = Rig(tmp_path / "dtms")
    rig.fast = [replace(b, spread=spread) for b in rig.fast]
    rig.market.set("XAUUSD", "M5", rig.fast)
    await rig.start()
    await rig.open_buy()
    await rig.cycles(36)
    assert rig.transitions()[-1] == ("WARNING_L2", "HEDGED")
    report = rig.strategy.report()
    assert report["hedges_without_spread"] == (0 if spread else 1)
    said = "sent 1 hedge(s) or re-add(s) on XAUUSD that the spread rail could not judge"
    assert (said in report.get("note", "")) is (not spread)
    await rig.stop()


@pytest.mark.parametrize("volume", [0.01, 1.0])
async def test_owed_actions_the_minimum_lot_cannot_take_are_counted_in_the_report(
    tmp_path: Path, volume: float, caplog: pytest.LogCaptureFixture
) -> None:
    """A trade of the minimum lot reaches WARNING_L2, whose partial close it cannot take:
    the record's warning alone once said so; the run's report counts it, by kind and with
    the reason, and the log names the trade once. A lot that can be halved: no word."""
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    await rig.open_buy(volume=volume)
    with caplog.at_level("INFO", logger=rig.strategy.log.name):
        await rig.cycles(36)
    assert ("WARNING_L1", "WARNING_L2") in rig.transitions()
    report = rig.strategy.report()
    await rig.stop()
    said = [r.getMessage() for r in caplog.records if "partial_close skipped" in r.getMessage()]
    if volume == 1.0:
        assert "dropped_actions" not in report and "did not send" not in report.get("note", "")
        assert said == []
        return
    assert report["dropped_actions"] == {"partial_close": 1}
    assert (
        "did not send 1 action its ladder owed: partial_close 1 (e.g. partial volume 0.005 "
        "(it floors to 0 at the step 0.01) below the minimum 0.01)" in report["note"]
    )
    assert said == [
        "DTMS 1: partial_close skipped: partial volume 0.005 (it floors to 0 at the step "
        "0.01) below the minimum 0.01"
    ]
