"""``hostapp replay --timeframe`` with weekly and monthly files, through the real command:
a timeframe finer than the file (or one its bars cannot make) is one line on stderr naming
both, exit code 2, no traceback and no report; a coarser one is resampled from the file.
Also a CSV of an instrument the paper broker does not know, priced near 0.0016."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import Bar
from hostapp.market.synthetic import generate_bars

START = datetime(2016, 1, 1, tzinfo=UTC)
COUNTS = {"D1": 900, "W1": 150, "MN1": 60}
NO_DTMS = '[plugins]\ndisabled = ["dtms"]\n'  # DTMS has no signal timeframe above W1


def data_file(tmp_path: Path, timeframe: str) -> Path:
    bars = generate_bars("EURUSD", START, COUNTS[timeframe], timeframe=timeframe, seed=5)
    return write_bars_csv(tmp_path / f"EURUSD_{timeframe}.csv", bars)


def yfinance_monthly(tmp_path: Path) -> Path:
    """A monthly download as yfinance's ``to_csv`` writes it (two-level header)."""
    bars = generate_bars("EURUSD", START, 36, timeframe="MN1", seed=6)
    lines = [
        "Price,Adj Close,Close,High,Low,Open,Volume",
        "Ticker,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X",
        "Date,,,,,,",
    ]
    lines += [
        f"{b.time:%Y-%m-%d} 00:00:00+00:00,{b.close},{b.close},{b.high},{b.low},{b.open},0"
        for b in bars
    ]
    path = tmp_path / "EURUSD=X.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("file_tf", "asked"),
    [("W1", "D1"), ("MN1", "D1"), ("MN1", "H4"), ("MN1", "W1"), ("W1", "MN1")],
)
def test_a_timeframe_the_file_cannot_make_is_one_line_naming_both(
    tmp_path: Path, file_tf: str, asked: str
) -> None:
    data = data_file(tmp_path, file_tf)
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", asked, "--report", "out")
    line = one_error_line(proc)
    assert line.startswith(f"hostapp: --timeframe {asked}: {data} has {file_tf} bars")
    assert not (tmp_path / "out").exists()


def test_a_yfinance_monthly_download_with_a_daily_timeframe(tmp_path: Path) -> None:
    data = yfinance_monthly(tmp_path)
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", "D1", "--report", "out")
    line = one_error_line(proc)
    assert line.startswith(f"hostapp: --timeframe D1: {data} has MN1 bars")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("asked", ["W1", "MN1"])
def test_daily_data_resamples_up_to_weeks_and_months(tmp_path: Path, asked: str) -> None:
    (tmp_path / "plugins.toml").write_text(NO_DTMS)
    data = data_file(tmp_path, "D1")
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", asked, "--report", "out")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["timeframe"]) == ("D1", asked)
    assert summary["cycles"] == COUNTS["D1"]  # the loop steps through every daily bar


@pytest.mark.parametrize("file_tf", ["W1", "MN1"])
def test_weekly_and_monthly_files_replay_as_what_they_are(tmp_path: Path, file_tf: str) -> None:
    (tmp_path / "plugins.toml").write_text(NO_DTMS)
    data = data_file(tmp_path, file_tf)
    proc = hostapp(tmp_path, "replay", str(data), "--report", "out")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["timeframe"]) == (file_tf, file_tf)
    assert summary["cycles"] == COUNTS[file_tf]


def test_without_plugins_toml_the_refusal_offers_what_works_there(tmp_path: Path) -> None:
    """No plugins.toml: DTMS's refusal of W1 bars offered ``[plugins] disabled`` in a file
    that does not exist; it names the environment variable too (which then replays) and
    creating the file. With a plugins.toml the file is where to write it: no more said."""
    data = data_file(tmp_path, "W1")
    line = one_error_line(hostapp(tmp_path, "replay", str(data), "--report", "out"))
    assert line.startswith("hostapp: the defaults (no plugins.toml) [plugin.dtms]")
    assert line.endswith(
        '([plugins] disabled = ["dtms"]); there is no plugins.toml to write that in: run with '
        "HOSTAPP_DISABLE_PLUGINS=dtms in the environment, or create plugins.toml with those lines"
    )
    env = {**os.environ, "HOSTAPP_DISABLE_PLUGINS": "dtms"}
    env.pop("HOSTAPP_LOAD_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", str(data), "--report", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "plugins.toml").write_text("[host]\n")
    line = one_error_line(hostapp(tmp_path, "replay", str(data), "--report", "out2"))
    assert line.startswith("hostapp: plugins.toml [plugin.dtms]")
    assert line.endswith('([plugins] disabled = ["dtms"])')


def test_a_coin_near_0_0016_trades_with_stops_and_a_profit_that_is_not_rounded_away(
    tmp_path: Path,
) -> None:
    """An instrument the paper broker does not know: its digits (8) and lot size come from
    the data, so DTMS's and the strategy's stops land on real prices and 0.01 lot moves
    the account by cents, not by nothing."""
    k = 0.0015
    bars = [
        Bar(b.time, *(round(x * k, 8) for x in (b.open, b.high, b.low, b.close)), b.volume)
        for b in generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 1500, seed=3)
    ]
    data = write_bars_csv(tmp_path / "PEPEUSD.csv", bars)
    proc = hostapp(tmp_path, "replay", str(data), "--json", "--report", "out")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["symbols"] == ["PEPEUSD"] and summary["cycles"] == 1500
    assert summary["trades"] > 0 and summary["orders_rejected"] == 0
    assert summary["closes_by_reason"].get("stop_loss", 0) > 0
    assert summary["pnl"] != 0.0
    assert abs(summary["pnl"]) < 1000  # 0.01 lot of a ~100,000 notional: not a fortune
