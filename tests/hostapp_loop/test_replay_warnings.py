"""A signal missing from most of DTMS's scores is said over the A/B table, not only in a
note under it: H4 or D1 files too short for the EMAs of the signal timeframe leave the
ladder without a fifth of its weight, and the figures below come from that."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import ROOT, bars_folder, replay

from dtms_plugin.blind_spots import BlindSpots
from dtms_plugin.settings import DtmsSettings
from hostapp.market.synthetic import generate_bars


def test_a_short_h4_file_gets_a_warning_over_the_table(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    bars = generate_bars("EURUSD", start, 700, timeframe="H4", seed=2)
    write_bars_csv(tmp_path / "EURUSD.csv", bars)
    proc = replay(tmp_path, "EURUSD.csv", "--compare", "--timeframe", "H4", "--report", "r")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    warning = out.index("WARNING: dtms (same entries): DTMS scored most trades without")
    assert warning < out.index("A/B of dtms")  # over the table
    assert "ema_alignment in" in out and "it needs about 210 D1 bars before a trade" in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert [w.split(":")[0] for w in summary["warnings"]] == ["dtms (same entries)", "dtms (full)"]


def test_the_bundled_m5_data_gets_none(tmp_path: Path) -> None:
    proc = replay(bars_folder(tmp_path, bars=3000), "XAUUSD.csv", "--compare", "--report", "r")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING:" not in proc.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["warnings"] == []


def test_the_warning_needs_most_of_ten_scorings_at_least() -> None:
    blind = BlindSpots(DtmsSettings())
    blind.scorings, blind.missing = 9, {"ema_alignment": 9}
    assert blind.warning() is None  # too few to say "most"
    blind.scorings, blind.missing = 10, {"ema_alignment": 5, "momentum": 6}
    said = blind.warning()
    assert said is not None and "momentum in 6 of 10" in said and "ema_alignment" not in said
