"""MetaTrader writes the trade server's clock (often UTC+2 in winter, UTC+3 in summer),
which the replay reads as UTC unless ``--data-tz`` names it: it was read so without a
word, while HistData.com's files, read on their own clock, said so. Each of MetaTrader's
layouts now says it in the run's notes, in the same words, unless a zone is given."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_text

from hostapp.market.csvdata import load_csv
from hostapp.market.synthetic import generate_bars
from hostapp.market.zones import parse_zone

BARS = generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 300, timeframe="H1", seed=3)
MT5_HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"


def _said(server: str, name: str) -> str:
    return (
        f"{name}: {server}, its times read as UTC, not the trade server's clock they are "
        "written on (often UTC+2 or UTC+3); --data-tz (or [host] data_tz) names the "
        "server's zone (Europe/Athens, America/New_York+7)"
    )


def mt5_export(folder: Path, name: str = "EURUSD_H1_202403040000_202403161100.csv") -> Path:
    lines = [MT5_HEADER] + [
        f"{b.time:%Y.%m.%d\t%H:%M:%S}\t{b.open}\t{b.high}\t{b.low}\t{b.close}\t10\t0\t8"
        for b in BARS
    ]
    return write_text(folder, "\n".join(lines) + "\n", name)


LAYOUTS = {
    "MetaTrader 4's History Center export": lambda b: (
        f"{b.time:%Y.%m.%d,%H:%M},{b.open},{b.high},{b.low},{b.close},10"
    ),
    "MetaTrader 4's lines": lambda b: (
        f"{b.time:%Y.%m.%d %H:%M},{b.open},{b.high},{b.low},{b.close}"
    ),
}


@pytest.mark.parametrize("server", [*LAYOUTS, "MetaTrader 5's Python API bars"])
def test_each_metatrader_layout_says_its_times_were_read_as_utc(
    tmp_path: Path, server: str
) -> None:
    if server in LAYOUTS:
        text = "\n".join(LAYOUTS[server](b) for b in BARS) + "\n"
    else:
        text = "time,open,high,low,close,tick_volume,spread,real_volume\n" + "".join(
            f"{int(b.time.timestamp())},{b.open},{b.high},{b.low},{b.close},10,8,0\n" for b in BARS
        )
    path = write_text(tmp_path, text, "EURUSD60.csv")
    notes: list[str] = []
    assert len(load_csv(path, notes=notes)) == len(BARS)
    assert notes == [_said(server, "EURUSD60.csv")]
    given: list[str] = []
    load_csv(path, notes=given, zone=parse_zone("Europe/Athens"))
    assert given == []


def test_other_files_say_nothing_of_a_server(tmp_path: Path) -> None:
    text = "time,open,high,low,close\n" + "".join(
        f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}\n" for b in BARS
    )
    notes: list[str] = []
    load_csv(write_text(tmp_path, text, "EURUSD.csv"), notes=notes)
    assert notes == []


def test_the_replay_of_a_metatrader_5_export_says_its_clock_unless_told(tmp_path: Path) -> None:
    data = mt5_export(tmp_path)
    said = _said("MetaTrader 5's export", data.name)
    proc = hostapp(tmp_path, "replay", data.name, "--json", "--report", "unsaid")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert said in json.loads(proc.stdout)["host_notes"]
    proc = hostapp(
        tmp_path, "replay", data.name, "--data-tz", "Europe/Athens", "--json", "--report", "told"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not any("trade server's clock" in n for n in json.loads(proc.stdout)["host_notes"])
