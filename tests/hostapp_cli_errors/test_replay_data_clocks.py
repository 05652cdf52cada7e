"""Where a file's times were written (``--data-tz``, ``[host] data_tz``), through the real
command: HistData.com's layout honours a zone the user gives (NinjaTrader writes it in
local time; its Eastern Standard Time is only the default); a time the zone's clocks skip
is refused, naming the "New York close" clock (``America/New_York+7``) MetaTrader
servers also run on, which is read as a zone is, its repeated hour included."""

from __future__ import annotations

import csv
import json
import pickle
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line

from hookspecs import Bar
from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvrows import check_order
from hostapp.market.synthetic import generate_bars
from hostapp.market.zones import SkippedTimeError, in_zone, parse_zone

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
    est_summary, est = entries(tmp_path, "est")
    utc_summary, utc = entries(tmp_path, "utc")
    assert utc_summary["data_tz"] == "UTC"
    said = "HistData.com's layout, its times read as its own Eastern Standard Time (UTC-5)"
    assert any(said in note for note in est_summary["host_notes"]), est_summary["host_notes"]
    assert not any(said in note for note in utc_summary["host_notes"])
    # unsaid: HistData.com's Eastern Standard Time, five hours behind UTC
    assert est and len(est) == len(utc)
    assert {a - b for a, b in zip(est, utc, strict=True)} == {timedelta(hours=5)}
    assert entries(tmp_path, "config")[1] == utc


MT5_HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"
NEW_YORK = ZoneInfo("America/New_York")


def new_york_close_export(path: Path, start: datetime, hours: int) -> tuple[Path, list[Bar]]:
    """A 24/7 symbol's H1 bars as MetaTrader 5 exports them from a server on New York
    close time: New York's clock plus 7 hours (an hour it repeats is written twice)."""
    bars = generate_bars("BTCUSD", start, hours, timeframe="H1", seed=7)
    lines = [MT5_HEADER]
    for b in bars:
        wall = b.time.astimezone(NEW_YORK).replace(tzinfo=None) + timedelta(hours=7)
        lines.append(f"{wall:%Y.%m.%d\t%H:%M:%S}\t{b.open}\t{b.high}\t{b.low}\t{b.close}\t10\t0\t0")
    path.write_text("\n".join(lines) + "\n")
    return path, bars


def test_a_time_the_zone_skips_is_refused_naming_the_new_york_close_clock(
    tmp_path: Path,
) -> None:
    """The night Athens' clocks skip 03:00 (2024-03-31), a New York close server writes
    03:00 and 04:00: read in Athens both were 01:00 UTC, "duplicate time … one of the two
    rows must go", and deleting one lost a real bar."""
    data, bars = new_york_close_export(tmp_path / "BTCUSD_H1.csv", START.replace(day=29), 72)
    proc = hostapp(tmp_path, "replay", str(data), "--data-tz", "Europe/Athens", "--report", "a")
    line = one_error_line(proc)
    assert line.startswith(f"hostapp: {data}:")
    assert "2024-03-31 03:00 does not exist in Europe/Athens" in line
    assert "written on another clock" in line and "--data-tz America/New_York+7" in line
    assert "duplicate" not in line
    for report, how in (
        ("option", ("--data-tz", "America/New_York+7")),
        ("config", ("--config", "ny.toml")),
    ):
        (tmp_path / "ny.toml").write_text('[host]\ndata_tz = "America/New_York+7"\n')
        proc = hostapp(tmp_path, "replay", str(data), *how, "--report", report)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads((tmp_path / report / "summary.json").read_text())
        assert summary["bars"] == len(bars) and summary["data_tz"] == "America/New_York+7"


def test_the_hour_new_york_close_repeats_is_read_as_two_bars() -> None:
    """2024-11-03: New York's 01:00 comes twice, so the server's 08:00 does; the second is
    the later hour, as a zone's repeated hour is (and Athens' is a week earlier)."""
    zone = parse_zone("America/New_York+7")
    first, second = (
        in_zone(datetime(2024, 11, 3, 8), zone),
        datetime(2024, 11, 3, 8, fold=1).replace(tzinfo=zone).astimezone(UTC),
    )
    assert (first.hour, second.hour) == (5, 6)
    assert check_order("f.csv", 3, first, (2, first - timedelta(hours=1)), zone) == first
    assert check_order("f.csv", 4, first, (3, first), zone) == second
    assert pickle.loads(pickle.dumps(zone)).utcoffset(datetime(2024, 7, 1)) == timedelta(hours=3)
    # the weeks the US has changed and the EU not yet: Athens is UTC+2, New York close UTC+3
    assert zone.utcoffset(datetime(2024, 3, 20, 12)) == timedelta(hours=3)
    assert zone.utcoffset(datetime(2024, 1, 10, 12)) == timedelta(hours=2)
    with pytest.raises(SkippedTimeError, match="does not exist in America/New_York\\+7"):
        in_zone(datetime(2024, 3, 10, 9, 30), zone)  # New York's skipped 02:30, plus 7 hours


def test_an_autumn_new_york_close_export_replays_every_bar(tmp_path: Path) -> None:
    start = datetime(2024, 11, 1, tzinfo=UTC)
    data, bars = new_york_close_export(tmp_path / "BTCUSD_H1.csv", start, 96)
    assert data.read_text().count("2024.11.03\t08:00:00") == 2
    loaded = load_csv(data, zone=parse_zone("America/New_York+7"))
    assert [b.time for b in loaded] == [b.time for b in bars]
    with pytest.raises(
        CsvError, match=r"duplicate time .* not Europe/Athens's: .*America/New_York\+7\)$"
    ):
        load_csv(data, zone=parse_zone("Europe/Athens"))


def athens_csv(path: Path, bars: list[Bar]) -> Path:
    """Bars in the generic layout, their times written on Athens' clock without an offset."""
    athens = ZoneInfo("Europe/Athens")
    lines = ["time,open,high,low,close,volume"]
    lines += [
        f"{b.time.astimezone(athens):%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close},1"
        for b in bars
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_replay_builds_d1_bars_on_the_data_clock(tmp_path: Path) -> None:
    """M5 bars resampled to D1 beside a D1 file, both written on Athens' clock: the M5
    file's days are the D1 file's (five a week, opening at Athens' midnight), so the
    replay steps through ten days, not through UTC days and a Sunday stub a week too."""
    from hostapp_market.test_market_resample_clock import ATHENS, fx_weeks

    m5 = fx_weeks(ATHENS, datetime(2024, 1, 8), 2)
    d1 = [b for b in fx_weeks(ATHENS, datetime(2024, 1, 8), 2, 24 * 60)]
    athens_csv(tmp_path / "EURUSD.csv", m5)
    athens_csv(tmp_path / "GBPUSD.csv", d1)
    (tmp_path / "plugins.toml").write_text('[plugins]\ndisabled = ["dtms"]\n')
    how = ("--data-tz", "Europe/Athens", "--timeframe", "D1", "--report", "out")
    proc = hostapp(tmp_path, "replay", "EURUSD.csv", "GBPUSD.csv", *how)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["cycles"]) == ("D1", 10)


def test_a_skipped_time_in_a_metastock_file_is_one_line(tmp_path: Path) -> None:
    """Finam's layout let the zone's own error through: a traceback, exit 1."""
    data = tmp_path / "SBER_240331_240331.csv"
    data.write_text(
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n"
        "SBER,60,20240331,010000,1,1.1,0.9,1,10\n"
        "SBER,60,20240331,030000,1,1.1,0.9,1,10\n"
        "SBER,60,20240331,040000,1,1.1,0.9,1,10\n"
    )
    proc = hostapp(tmp_path, "replay", str(data), "--data-tz", "Europe/Athens", "--report", "r")
    line = one_error_line(proc)
    assert line.startswith(f"hostapp: {data}:3:"), line
    assert "2024-03-31 03:00 does not exist in Europe/Athens" in line
