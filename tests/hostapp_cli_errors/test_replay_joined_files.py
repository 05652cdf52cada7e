"""Several files of one symbol (Binance's months, HistData's years, exports split by
date) are one series: joined in time order whatever order they are named in; files that
overlap, or a file named twice, are one line naming them. Real ``hostapp`` processes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import ConfigError
from hostapp.data import joined_series
from hostapp.market.synthetic import generate_bars

BARS = generate_bars("XAUUSD", datetime(2024, 1, 29, tzinfo=UTC), 1200, seed=8)


def binance_month(path: Path, month: int | None) -> Path:
    """The bars of ``month`` (None: all) as a data.binance.vision kline file: no header,
    epoch milliseconds."""
    lines = []
    for b in BARS:
        if month is None or b.time.month == month:
            ms = int(b.time.timestamp() * 1000)
            row = [ms, b.open, b.high, b.low, b.close, b.volume, ms + 299_999, 0, 0, 0, 0, 0]
            lines.append(",".join(str(v) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_monthly_files_of_one_symbol_replay_as_one_series(tmp_path: Path) -> None:
    feb = binance_month(tmp_path / "XAUUSD-5m-2024-02.csv", 2)
    jan = binance_month(tmp_path / "XAUUSD-5m-2024-01.csv", 1)
    whole = binance_month(tmp_path / "XAUUSD.csv", None)
    summaries = []
    for files in ([feb.name, jan.name], [whole.name]):  # February named first
        proc = hostapp(tmp_path, "replay", *files, "--json", "--report", f"r{len(files)}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        summaries.append(json.loads(proc.stdout))
    joined, single = summaries
    assert joined["symbols"] == ["XAUUSD"] and joined["bars"] == len(BARS) == single["bars"]
    assert joined["data"] == [feb.name, jan.name]
    for key in ("trades", "pnl", "actions", "closes_by_reason", "max_drawdown"):
        assert joined[key] == single[key], key  # the same run as the one file's


def test_overlapping_files_of_one_symbol_are_refused(tmp_path: Path) -> None:
    jan = binance_month(tmp_path / "XAUUSD-5m-2024-01.csv", 1)
    whole = write_bars_csv(tmp_path / "gold.csv", BARS)
    line = one_error_line(hostapp(tmp_path, "replay", jan.name, whole.name, "--symbol", "XAUUSD"))
    assert line == (
        f"hostapp: gold.csv and {jan.name} overlap (XAUUSD) with other bars: gold.csv starts at "
        f"{BARS[0].time.isoformat()}, {jan.name} ends at 2024-01-31T23:55:00+00:00"
    )
    line = one_error_line(hostapp(tmp_path, "replay", jan.name, jan.name))
    assert line == f"hostapp: a file named twice: {jan.name}"


def test_joined_series_orders_by_time_and_names_an_overlap() -> None:
    a, b, c = BARS[:100], BARS[100:250], BARS[250:300]
    parts = [("c.csv", "X", c), ("a.csv", "X", a), ("y.csv", "Y", b), ("b.csv", "X", b)]
    series = joined_series(parts)
    assert series == {"X": a + b + c, "Y": b}
    other = [dataclasses.replace(BARS[100], volume=BARS[100].volume + 1.0), *BARS[101:250]]
    with pytest.raises(ConfigError, match=r"b\.csv and a\.csv overlap \(X\) with other bars"):
        joined_series([("a.csv", "X", BARS[:101]), ("b.csv", "X", other)])


def test_parts_that_share_the_very_same_bars_are_read_once_and_said() -> None:
    """Export parts whose edges overlap with the very same bars were refused as files
    that overlap: the series is the same whichever file's bars count."""
    notes: list[str] = []
    series = joined_series([("p2.csv", "X", BARS[90:300]), ("p1.csv", "X", BARS[:100])], notes)
    assert series == {"X": BARS[:300]}
    assert notes == [
        f"p2.csv repeats 10 bars of p1.csv (X, {BARS[90].time:%Y-%m-%d %H:%M} to "
        f"{BARS[99].time:%Y-%m-%d %H:%M}), the very same: read once"
    ]
    inside = joined_series([("all.csv", "X", BARS[:300]), ("mid.csv", "X", BARS[50:60])])
    assert inside == {"X": BARS[:300]}  # one part inside the other
    gap = [*BARS[90:95], *BARS[96:300]]  # a bar of p1 missing from p2: not the same bars
    with pytest.raises(ConfigError, match=r"overlap \(X\) with other bars"):
        joined_series([("p1.csv", "X", BARS[:100]), ("p2.csv", "X", gap)])


def test_host_data_may_name_several_files_of_a_symbol(tmp_path: Path) -> None:
    """``[host] data = {XAUUSD = ["feb.csv", "jan.csv"]}``: ``hostapp run`` joins them
    as the replay does; an overlap or a list that names no file is one error."""
    from hostapp.config import config_from_dict
    from hostapp.data import config_series

    binance_month(tmp_path / "feb.csv", 2)
    binance_month(tmp_path / "jan.csv", 1)

    def series(data: object) -> list[object]:
        table = {"host": {"symbols": ["XAUUSD"], "data": {"XAUUSD": data}}}
        config = config_from_dict(table, path=tmp_path / "plugins.toml")
        return list(config_series(config, days=None, seed=0)[0]["XAUUSD"])

    assert series(["feb.csv", "jan.csv"]) == series("jan.csv") + series("feb.csv")
    assert len(series(["feb.csv", "jan.csv"])) == len(BARS)
    with pytest.raises(ConfigError, match=r"\[host\] key 'data': jan.csv is named twice"):
        series(["jan.csv", "jan.csv"])
    for bad in ([], [""], [3], 3):
        with pytest.raises(ConfigError, match=r"key 'data.XAUUSD': expected a CSV path or a"):
            series(bad)


def test_compare_then_one_file_replays_that_file(tmp_path: Path) -> None:
    """``hostapp replay --compare XAUUSD.csv``: the file is the data, not the plugin's
    name (argparse took it as the name and stopped: "required: DATA.csv")."""
    binance_month(tmp_path / "XAUUSD.csv", None)
    proc = hostapp(tmp_path, "replay", "--compare", "XAUUSD.csv", "--jobs", "1", "--json")
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert json.loads(proc.stdout)["plugin"] == "dtms"
    line = one_error_line(hostapp(tmp_path, "replay", "--compare"))
    assert line == "hostapp: replay: name the bar files to replay (hostapp replay DATA.csv …)"


def test_a_report_path_that_cannot_be_a_folder_is_one_line(tmp_path: Path) -> None:
    binance_month(tmp_path / "XAUUSD.csv", 1)
    (tmp_path / "taken").write_text("a file")
    for report, why in (("taken", "a file of that name is there"), ("taken/sub", "Not a")):
        line = one_error_line(hostapp(tmp_path, "replay", "XAUUSD.csv", "--report", report))
        assert line.startswith(f"hostapp: --report {report}: cannot make the report folder: ")
        assert why in line


def test_compare_of_a_plugin_the_environment_switches_off_is_one_line(tmp_path: Path) -> None:
    """The runs "with" it would have run without it and reported that it did nothing."""
    import os
    import subprocess
    import sys

    binance_month(tmp_path / "XAUUSD.csv", 1)
    for var, value, why in (
        ("HOSTAPP_DISABLE_PLUGINS", "dtms", "HOSTAPP_DISABLE_PLUGINS lists it"),
        ("HOSTAPP_LOAD_PLUGINS", "exits,sma_strategy", "HOSTAPP_LOAD_PLUGINS does not list it"),
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
        proc = subprocess.run(
            [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare"],
            cwd=tmp_path, env={**env, var: value}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        line = one_error_line(proc)
        assert line == f"hostapp: --compare dtms: it would not run in the runs with it ({why})"
