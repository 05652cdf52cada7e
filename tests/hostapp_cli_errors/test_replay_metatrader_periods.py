"""MetaTrader 5's other periods (M2 … H12), through the real command: a file of them is
told from its bar gaps and replayed, ``--timeframe`` names them, and DTMS pairs each with
a signal timeframe it can build (an H2 export was "cannot tell the timeframe", then
"unknown timeframe 'H2'")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("timeframe", "signal"), [("M2", "M10"), ("H2", "H8"), ("H12", "D1")])
def test_a_file_of_another_metatrader_period_is_replayed_as_it(
    tmp_path: Path, timeframe: str, signal: str
) -> None:
    bars = generate_bars("EURUSD", START, 400, timeframe=timeframe, seed=3)
    data = write_bars_csv(tmp_path / f"EURUSD_{timeframe}.csv", bars)
    proc = hostapp(tmp_path, "replay", str(data), "--report", "told")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "told" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["timeframe"]) == (timeframe, timeframe)
    assert summary["cycles"] == len(bars)
    dtms = summary["plugin_reports"]["dtms"]
    assert dtms["timeframes"] == {"fast": timeframe, "signal": signal}
    asked = hostapp(
        tmp_path, "replay", str(data), "--timeframe", timeframe.lower(), "--report", "x"
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    again = json.loads((tmp_path / "x" / "summary.json").read_text())
    assert again["timeframe"] == timeframe


def test_h2_bars_resample_up_to_h6(tmp_path: Path) -> None:
    bars = generate_bars("EURUSD", START, 300, timeframe="H2", seed=4)
    data = write_bars_csv(tmp_path / "EURUSD_H2.csv", bars)
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", "H6", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["timeframe"]) == ("H2", "H6")
