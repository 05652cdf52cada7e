"""A replay of files of several spacings, one of them too coarse for DTMS's fast
timeframe: the one-line refusal names that file (``hookspecs.BarSources``, data the
market view gives, not words to read out of a message). It said only "the data has H1
bars", and the trader had to find which of the files that was. Real ``hostapp``
processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)
EXPLICIT = """
[plugin.dtms]
timeframes = "explicit"
fast_timeframe = "M15"
signal_timeframe = "H1"
"""


def test_the_refusal_names_the_file_too_coarse(tmp_path: Path) -> None:
    write_bars_csv(tmp_path / "EURUSD.csv", generate_bars("EURUSD", START, 600, seed=1))
    hourly = generate_bars("USDJPY", START, 200, timeframe="H1", seed=2)
    write_bars_csv(tmp_path / "USDJPY.csv", hourly)
    (tmp_path / "m15h1.toml").write_text(EXPLICIT)
    proc = hostapp(
        tmp_path, "replay", "EURUSD.csv", "USDJPY.csv", "--timeframe", "H1",
        "--config", "m15h1.toml", "--compare", "--report", "rep",
    )  # fmt: skip
    line = one_error_line(proc)
    assert line == (
        "hostapp: m15h1.toml [plugin.dtms] fast_timeframe: DTMS needs M15 bars (its fast "
        "timeframe; the host trades H1) but USDJPY.csv has H1 bars, from which M15 bars "
        "cannot be built"
    )


def test_files_all_too_coarse_are_all_named(tmp_path: Path) -> None:
    for symbol, seed in (("EURUSD", 1), ("USDJPY", 2)):
        bars = generate_bars(symbol, START, 200, timeframe="H1", seed=seed)
        write_bars_csv(tmp_path / f"{symbol}.csv", bars)
    (tmp_path / "m15h1.toml").write_text(EXPLICIT)
    proc = hostapp(
        tmp_path, "replay", "EURUSD.csv", "USDJPY.csv", "--config", "m15h1.toml",
        "--report", "rep",
    )  # fmt: skip
    assert "but EURUSD.csv, USDJPY.csv have H1 bars, from which M15" in one_error_line(proc)
