"""What DTMS scored without, in the run's report: counted per scoring from the score's
missing signals, explained per signal, and said for a replay of bars without volume."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from support.dtms_kit import SETTINGS, snapshot

from dtms_plugin.engine import OrderFlow, ScoreBreakdown
from dtms_plugin.signal_gaps import SignalGaps
from hostapp.cli import main
from hostapp.market.synthetic import generate_bars


def test_counts_each_scoring_and_leaves_out_absent_order_flow() -> None:
    gaps = SignalGaps(SETTINGS)
    bare = snapshot()  # every feature missing, no order flow
    for _ in range(3):
        gaps.count(bare.score("buy"), bare)
    warm = snapshot(
        signal_close=2000.0, swing_high=2010.0, swing_low=1990.0, vwap=2000.0,
        rsi=50.0, rsi_prev=49.0, hist=(0.1, 0.2, 0.3), ema_fast_slope=0.1,
        atr_fast=1.0, order_flow=OrderFlow(10.0, 5.0, None),
    )  # fmt: skip
    gaps.count(warm.score("buy"), warm)
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
    text = gaps.sentence()
    assert text is not None and text.startswith("scored trades 4 times, some without a signal")
    assert "ema_alignment every time (the EMA slopes had not seen enough M15 bars yet)" in text
    assert "vwap_volume 3 times (no session VWAP: the M5 bars carry no volume)" in text
    assert "delta_pressure once (order flow without a delta z yet)" in text


def test_only_absent_order_flow_missing_is_no_sentence() -> None:
    gaps = SignalGaps(SETTINGS)
    assert gaps.sentence() is None
    snap = snapshot()
    full = ScoreBreakdown(
        total=0.0, subscores=(0.0,) * 6, weights=snap.weights, missing=("delta_pressure",),
        regime=snap.regime, confluence=0.0, confluence_against=False, vwap_slope_against=False,
    )  # fmt: skip
    gaps.count(full, snap)
    assert gaps.scorings == 1 and gaps.missing == {} and gaps.sentence() is None


@pytest.mark.parametrize("volume", [True, False])
def test_a_replay_of_bars_without_volume_says_vwap_was_never_scored(
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
        said = "vwap_volume every time (no session VWAP: the M5 bars carry no volume)"
        assert said in report["note"]
