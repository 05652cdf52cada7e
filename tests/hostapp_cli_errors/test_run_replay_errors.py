"""Bad input to ``hostapp run`` and ``hostapp replay``, through the real command: one line
on stderr naming the file/line, the table and key, or the option; exit code 2; no
traceback; no report written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import SYMBOL_PROFILES, generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HOSTAPP_LOAD_PLUGINS", None)
    env.pop("HOSTAPP_DISABLE_PLUGINS", None)
    return env


def hostapp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The refusal: exit code 2, a single line on stderr, no traceback, no stdout."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""
    return lines[0]


def usage_error(proc: subprocess.CompletedProcess[str]) -> str:
    """argparse's refusal: exit code 2, usage, then one ``error:`` line; no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    last = proc.stderr.splitlines()[-1]
    assert "error:" in last
    return last


def m5_csv(path: Path, count: int = 400) -> Path:
    return write_bars_csv(path, generate_bars("XAUUSD", START, count, seed=5))


# -- hostapp run: [host] data and symbols ----------------------------------------------------


def test_run_with_a_bad_csv_line_names_file_and_line(tmp_path: Path) -> None:
    lines = m5_csv(tmp_path / "bad.csv").read_text().splitlines()
    lines[16] = "2024-03-04T01:20:00Z,2150.1,oops,2149.0,2150.0,10,0.2"  # line 17
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "plugins.toml").write_text('[host]\ndata = {XAUUSD = "bad.csv"}\n')
    proc = hostapp(tmp_path, "run", "--report", "out")
    line = one_error_line(proc)
    assert line.startswith("hostapp: bad.csv:17: ")
    assert "'oops' is not a number" in line
    assert not (tmp_path / "out").exists()


def test_run_with_a_missing_csv_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[host]\ndata = {XAUUSD = "gone.csv"}\n')
    line = one_error_line(hostapp(tmp_path, "run", "--report", "out"))
    assert line.startswith("hostapp: gone.csv: cannot read the file")
    assert not (tmp_path / "out").exists()


def test_run_with_an_empty_data_table(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text("[host]\ndata = {}\n")
    line = one_error_line(hostapp(tmp_path, "run", "--report", "out"))
    assert "plugins.toml [host] key 'data'" in line and "empty" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("symbols", [["XAUSD"], ["XAUUSD", "NOPE"]])
def test_run_refuses_a_symbol_without_builtin_data(tmp_path: Path, symbols: list[str]) -> None:
    (tmp_path / "plugins.toml").write_text(f"[host]\nsymbols = {json.dumps(symbols)}\n")
    line = one_error_line(hostapp(tmp_path, "run", "--days", "1", "--report", "out"))
    assert "plugins.toml [host] key 'symbols'" in line
    assert repr(symbols[-1]) in line
    assert "'XAUUSD'" not in line  # a known one is not blamed
    assert all(name in line for name in SYMBOL_PROFILES)  # the known ones are listed
    assert not (tmp_path / "out").exists()


def test_run_with_a_csv_symbol_of_no_builtin_profile(tmp_path: Path) -> None:
    """A symbol with its CSV file is fine, whatever its name."""
    m5_csv(tmp_path / "gold.csv", 300)
    (tmp_path / "plugins.toml").write_text('[host]\ndata = {GOLD = "gold.csv"}\n')
    proc = hostapp(tmp_path, "run", "--report", "out")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["symbols"] == ["GOLD"] and summary["cycles"] == 300


def test_run_refuses_files_of_two_timeframes(tmp_path: Path) -> None:
    """One base timeframe per host (as ``hostapp replay`` demands): D1 bars beside M5 ones
    would read as stale on nearly every cycle."""
    m5_csv(tmp_path / "gold.csv", 300)
    daily = generate_bars("EURUSD", START, 60, timeframe="D1", seed=2)
    write_bars_csv(tmp_path / "eur.csv", daily)
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD", "EURUSD"]\ndata = {XAUUSD = "gold.csv", EURUSD = "eur.csv"}\n'
    )
    line = one_error_line(hostapp(tmp_path, "run", "--report", "out"))
    assert "plugins.toml [host] key 'data'" in line
    assert "eur.csv (EURUSD) has D1 bars but gold.csv (XAUUSD) has M5 bars" in line
    assert not (tmp_path / "out").exists()


# -- hostapp run: options --------------------------------------------------------------------


@pytest.mark.parametrize("days", ["-1", "0", "two"])
def test_run_days_must_be_positive(tmp_path: Path, days: str) -> None:
    line = usage_error(hostapp(tmp_path, "run", f"--days={days}", "--report", "out"))
    assert "argument --days" in line and days in line
    assert not (tmp_path / "out").exists()


def test_run_days_past_the_end_of_csv_data_runs_all_of_it(tmp_path: Path) -> None:
    """The most days a run takes, on data of the year 9990: their end would be past the
    calendar's (year 9999), which ended in a traceback; all of the bars run."""
    bars = generate_bars("XAUUSD", datetime(9990, 3, 4, tzinfo=UTC), 400, seed=5)
    write_bars_csv(tmp_path / "gold.csv", bars)
    config = '[host]\nsymbols = ["XAUUSD"]\ndata = { XAUUSD = "gold.csv" }\n'
    (tmp_path / "plugins.toml").write_text(config)
    proc = hostapp(tmp_path, "run", "--no-compare", "--days", "36500", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["bars"] == 400


def test_run_days_one_runs_one_day(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    proc = hostapp(tmp_path, "run", "--days", "1", "--report", "out")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["days"] == 1 and summary["cycles"] == 288


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_run_port_out_of_range(tmp_path: Path, port: str) -> None:
    line = usage_error(hostapp(tmp_path, "run", "--live", "--serve", f"--port={port}"))
    assert "argument --port" in line and port in line


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--port", "8005"), "--port is the port --serve listens on: add --serve (and --live)"),
        (
            ("--live", "--speed", "100", "--port", "8005"),
            "--port is the port --serve listens on: add --serve",
        ),
    ],
)
def test_run_port_without_serve_is_refused(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    """It was ignored without a word, while --speed without --live is refused."""
    proc = hostapp(tmp_path, "run", *args, "--days", "1", "--report", "out")
    assert one_error_line(proc) == f"hostapp: {said}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["run", "replay"])
def test_an_empty_report_folder_is_refused(tmp_path: Path, command: str) -> None:
    """It fell back to the default folder without a word, replacing the report there."""
    m5_csv(tmp_path / "XAUUSD.csv")
    data = ["XAUUSD.csv"] if command == "replay" else ["--days", "1"]
    proc = hostapp(tmp_path, command, "--report", "", *data)
    assert one_error_line(proc) == (
        "hostapp: --report '': name a folder (or leave it out for .hostapp/report)"
    )
    assert not (tmp_path / ".hostapp").exists()


def test_a_live_run_refuses_a_cycle_longer_than_a_day(tmp_path: Path) -> None:
    """``cycle_seconds = 1e300`` ended a live run in an OverflowError from its clock."""
    config = '[host]\ncycle_seconds = 1e300\n[host.paper]\naccount_file = "a.sqlite"\n'
    (tmp_path / "plugins.toml").write_text(config)
    proc = hostapp(tmp_path, "run", "--live", "--speed", "100", "--days", "1", "--report", "r")
    assert one_error_line(proc) == (
        "hostapp: plugins.toml [host]: key 'cycle_seconds': expected a number > 0 and at "
        "most 86,400 (a day), got 1e+300"
    )


# -- hostapp replay --timeframe --------------------------------------------------------------


def test_replay_resamples_up_to_a_larger_timeframe(tmp_path: Path) -> None:
    data = m5_csv(tmp_path / "XAUUSD.csv", 600)
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", "H1", "--report", "out")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["timeframe"] == "H1"
    assert summary["base_timeframe"] == "M5"  # the file's bars, not taken for H1 bars
    assert summary["cycles"] == 600  # the loop still steps through every M5 bar


@pytest.mark.parametrize("timeframe", ["M1", "M15"])
def test_replay_on_h1_data_refuses_a_smaller_timeframe(tmp_path: Path, timeframe: str) -> None:
    hourly = generate_bars("XAUUSD", START, 200, timeframe="H1", seed=5)
    data = write_bars_csv(tmp_path / "XAUUSD.csv", hourly)
    proc = hostapp(tmp_path, "replay", str(data), "--timeframe", timeframe, "--report", "out")
    line = one_error_line(proc)
    assert line.startswith(f"hostapp: --timeframe {timeframe}: {data} has H1 bars")
    assert not (tmp_path / "out").exists()


def test_replay_data_tz(tmp_path: Path) -> None:
    """``--data-tz``: an unknown zone is one line naming the option; a known one reads the
    file's times in it and the summary says which zone was used."""
    data = m5_csv(tmp_path / "XAUUSD.csv", 300)
    data.write_text(data.read_text().replace("Z,", ","))  # times without an offset
    line = one_error_line(hostapp(tmp_path, "replay", str(data), "--data-tz", "Mars/Olympus"))
    assert line.startswith("hostapp: --data-tz: unknown time zone 'Mars/Olympus'")
    assert not (tmp_path / "out").exists()
    (tmp_path / "east.toml").write_text('[host]\ndata_tz = "+02:00"\n')
    opened = {}
    for zone, report, how in (
        ("UTC", "utc", ("--data-tz", "UTC")),
        ("+02:00", "plus2", ("--data-tz", "+02:00")),
        ("+02:00", "config", ("--config", "east.toml")),  # [host] data_tz, no option
    ):
        args = ("replay", str(data), *how, "--compare", "--jobs", "1")
        proc = hostapp(tmp_path, *args, "--report", report)
        assert proc.returncode in (0, 3), proc.stderr[-2000:]
        summary = json.loads((tmp_path / report / "summary.json").read_text())
        assert summary["same_entries"]["without"]["data_tz"] == zone
        with (tmp_path / report / "trades.csv").open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["run"] == "without"]
        opened[report] = [datetime.fromisoformat(r["opened_at"]) for r in rows]
    # the same bars read two hours east of UTC: every entry two hours earlier in UTC
    assert opened["utc"] and len(opened["utc"]) == len(opened["plus2"])
    assert {a - b for a, b in zip(opened["utc"], opened["plus2"], strict=True)} == {
        timedelta(hours=2)
    }
    assert opened["config"] == opened["plus2"]
    (tmp_path / "nowhere.toml").write_text('[host]\ndata_tz = "Nowhere"\n')
    line = one_error_line(hostapp(tmp_path, "replay", str(data), "--config", "nowhere.toml"))
    assert "nowhere.toml [host]: key 'data_tz': unknown time zone 'Nowhere'" in line


def test_run_reads_its_csv_data_in_the_configured_zone(tmp_path: Path) -> None:
    """``[host] data_tz`` for the CSV files ``[host] data`` names (``hostapp run``)."""
    from hostapp.config import config_from_dict
    from hostapp.data import config_series

    data = m5_csv(tmp_path / "gold.csv", 50)
    data.write_text(data.read_text().replace("Z,", ","))
    first = {}
    for zone in ("UTC", "+02:00"):
        table = {"host": {"symbols": ["XAUUSD"], "data": {"XAUUSD": "gold.csv"}, "data_tz": zone}}
        config = config_from_dict(table, path=tmp_path / "plugins.toml")
        first[zone] = config_series(config, days=None, seed=0)[0]["XAUUSD"][0].time
    assert first["UTC"] - first["+02:00"] == timedelta(hours=2)


def test_without_plugins_toml_a_plugins_refusal_names_the_defaults(tmp_path: Path) -> None:
    """No plugins.toml in the folder: DTMS's default timeframes cannot pair with MN1 bars,
    which blamed "plugins.toml [plugin.dtms]", a file that is not there."""
    m5_csv(tmp_path / "XAUUSD.csv")
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--timeframe", "MN1", "--report", "r")
    assert one_error_line(proc).startswith(
        'hostapp: the defaults (no plugins.toml) [plugin.dtms] timeframes = "auto": '
    )


def test_replay_unknown_timeframe(tmp_path: Path) -> None:
    data = m5_csv(tmp_path / "XAUUSD.csv", 100)
    line = one_error_line(hostapp(tmp_path, "replay", str(data), "--timeframe", "M7"))
    assert line.startswith("hostapp: --timeframe: unknown timeframe 'M7'")


def test_replay_files_of_different_spacing(tmp_path: Path) -> None:
    m5 = m5_csv(tmp_path / "XAUUSD.csv", 100)
    hourly = generate_bars("EURUSD", START, 100, timeframe="H1", seed=5)
    h1 = write_bars_csv(tmp_path / "EURUSD.csv", hourly)
    line = one_error_line(hostapp(tmp_path, "replay", str(m5), str(h1)))
    assert line == (
        f"hostapp: {m5} has M5 bars but {h1} has H1 bars: to replay them together, add "
        "--timeframe H1 (or a multiple of it); the finer bars are then resampled up"
    )


def test_replay_files_of_different_spacing_on_the_coarser_timeframe(tmp_path: Path) -> None:
    """Refused once even with --timeframe H1, which both can be made into."""
    m5 = m5_csv(tmp_path / "XAUUSD.csv", 24 * 12 * 10)
    hourly = generate_bars("EURUSD", START, 24 * 10, timeframe="H1", seed=5)
    h1 = write_bars_csv(tmp_path / "EURUSD.csv", hourly)
    proc = hostapp(tmp_path, "replay", str(m5), str(h1), "--timeframe", "H1", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["base_timeframe"], summary["timeframe"]) == ("H1", "H1")
    (note,) = [n for n in summary["host_notes"] if "resampled" in n]
    assert note.startswith(f"{m5}: its M5 bars were resampled to H1, the spacing of {h1}")
    proc = hostapp(tmp_path, "replay", str(m5), str(h1), "--timeframe", "M15")
    assert one_error_line(proc) == (
        f"hostapp: --timeframe M15: {h1} has H1 bars; the timeframe must be H1 or a whole "
        "multiple of it (bars are resampled up, never down)"
    )


def test_replay_help_says_how_timeframe_works(tmp_path: Path) -> None:
    proc = hostapp(tmp_path, "replay", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "resampled up" in text and "is refused" in text


def test_a_comparison_dtms_cannot_run_stops_before_any_run(tmp_path: Path) -> None:
    """Weekly bars: DTMS has no coarser timeframe for its signals. The A/B says so in one
    line at once, instead of replaying the run without DTMS first."""
    weekly = generate_bars("XAUUSD", START, 300, timeframe="W1", seed=2)
    write_bars_csv(tmp_path / "XAUUSD.csv", weekly)
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--compare", "--report", "out")
    line = one_error_line(proc)  # no progress line either: no run started
    assert '[plugin.dtms] timeframes = "auto"' in line and "W1 bars" in line
    assert not (tmp_path / "out" / "summary.json").exists()


def test_two_names_of_one_symbol_that_overlap_are_said(tmp_path: Path) -> None:
    """A series split by hand into EURUSD_a.csv and EURUSD_c.csv: both trade, as two
    symbols on EURUSD's rules, and where their bars overlap the account holds both."""
    bars = generate_bars("EURUSD", START, 300, timeframe="H1", seed=5)
    first = write_bars_csv(tmp_path / "EURUSD_a.csv", bars[:200])
    second = write_bars_csv(tmp_path / "EURUSD_c.csv", bars[150:])
    proc = hostapp(tmp_path, "replay", str(first), str(second), "--json")
    assert proc.returncode == 0, proc.stderr
    (note,) = [n for n in json.loads(proc.stdout)["host_notes"] if "overlap" in n]
    assert note.startswith(
        f"EURUSD_a and EURUSD_c are both EURUSD by their names and their bars overlap from "
        f"{bars[150].time:%Y-%m-%d %H:%M} to {bars[199].time:%Y-%m-%d %H:%M}"
    )
    apart = write_bars_csv(tmp_path / "EURUSD_d.csv", bars[210:])  # after: no overlap
    proc = hostapp(tmp_path, "replay", str(first), str(apart), "--json")
    assert not [n for n in json.loads(proc.stdout)["host_notes"] if "overlap" in n]
