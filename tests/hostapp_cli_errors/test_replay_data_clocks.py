"""Where a file's times were written (``--data-tz``, ``[host] data_tz``), through the real
command: HistData.com's layout honours a zone the user gives (NinjaTrader writes it in
local time; its Eastern Standard Time is only the default)."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp

from hookspecs import Bar
from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)


def histdata_csv(path: Path, bars: list[Bar]) -> Path:
    """HistData.com's ASCII layout, ``20240304 000500;open;high;low;close;volume``, the
    bars' UTC times written as they are."""
    lines = [f"{b.time:%Y%m%d %H%M%S};{b.open};{b.high};{b.low};{b.close};0" for b in bars]
    path.write_text("\n".join(lines) + "\n")
    return path


def entries(cwd: Path, report: str) -> tuple[dict[str, object], list[datetime]]:
    summary = json.loads((cwd / report / "summary.json").read_text())
    with (cwd / report / "trades.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["run"] == "without"]
    return summary["same_entries"]["without"], [
        datetime.fromisoformat(r["opened_at"]) for r in rows
    ]


def compared(cwd: Path, data: Path, report: str, *how: str) -> subprocess.CompletedProcess[str]:
    proc = hostapp(cwd, "replay", str(data), *how, "--compare", "--jobs", "1", "--report", report)
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    return proc


def test_histdata_layout_is_read_in_the_zone_the_user_gives(tmp_path: Path) -> None:
    data = histdata_csv(tmp_path / "EURUSD.csv", generate_bars("EURUSD", START, 400, seed=5))
    (tmp_path / "utc.toml").write_text('[host]\ndata_tz = "UTC"\n')
    compared(tmp_path, data, "est")
    compared(tmp_path, data, "utc", "--data-tz", "UTC")
    compared(tmp_path, data, "config", "--config", "utc.toml")
    _, est = entries(tmp_path, "est")
    utc_summary, utc = entries(tmp_path, "utc")
    assert utc_summary["data_tz"] == "UTC"
    # unsaid: HistData.com's Eastern Standard Time, five hours behind UTC
    assert est and len(est) == len(utc)
    assert {a - b for a, b in zip(est, utc, strict=True)} == {timedelta(hours=5)}
    assert entries(tmp_path, "config")[1] == utc
