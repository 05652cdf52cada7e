"""A forex pair's D1 file with a bar on Sunday (six a week, as brokers on GMT export
them) is said in the run's notes, through a real replay (hostapp/market/fx_week.py): the
same stubs built from M1 bars were counted ("D1 bars built from under half …"), a D1 file
of them got nothing, though their short ranges shrink the ATR and each counts as a bar
for a deadline of so many bars. A file on New York's close (Monday's session stamped on
Sunday at 21:00 or 22:00 UTC) and one of five bars a week have none to say."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import ROOT, replay

from hostapp.brokers.paper_rules import currency_pair
from hostapp.market.csvdata import load_csv
from hostapp.market.fx_week import fx_week_note

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def write_days(path: Path, weeks: int, *, days: tuple[int, ...], hour: int = 0) -> int:
    """D1 bars of EURUSD on ``days`` of the week (Monday = 0) at ``hour`` UTC, the
    Sunday's a stub of a few hours (a tenth of a day's range); how many bars."""
    lines = ["time,open,high,low,close,volume"]
    close = 1.10
    for i in range(weeks * 7):
        when = START + timedelta(days=i, hours=hour)
        if when.weekday() not in days:
            continue
        width = 0.0008 if when.weekday() == 6 and hour < 19 else 0.008
        open_ = close
        close = 1.10 * (1 + 0.03 * math.sin(i / 9))
        high, low = max(open_, close) + width, min(open_, close) - width
        lines.append(f"{when:%Y-%m-%d %H:%M},{open_:.5f},{high:.5f},{low:.5f},{close:.5f},10")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def test_a_d1_file_with_sunday_stubs_is_said_in_the_replays_notes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    n = write_days(tmp_path / "EURUSD.csv", 40, days=(6, 0, 1, 2, 3, 4))
    proc = replay(tmp_path, "EURUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads((tmp_path / "rep" / "summary.json").read_text())["host_notes"]
    (said,) = [n for n in notes if "open while forex is closed" in n]
    assert f"EURUSD 40 of {n}; their short ranges shrink an ATR" in said, said
    assert "--bar-clock America/New_York+7 builds such days" in said
    assert "A broker's export on New York's close (a server on UTC+2/+3)" in said


@pytest.mark.parametrize(
    ("days", "hour"),
    [((0, 1, 2, 3, 4), 0), ((6, 0, 1, 2, 3), 22)],  # five a week; New York's close in UTC
)
def test_days_of_whole_sessions_are_not_said(
    tmp_path: Path, days: tuple[int, ...], hour: int
) -> None:
    write_days(tmp_path / "EURUSD.csv", 10, days=days, hour=hour)
    bars = load_csv(tmp_path / "EURUSD.csv")
    assert fx_week_note({"EURUSD": bars}, currency_pair) is None


def test_weekly_bars_stamped_on_sunday_are_no_d1_stubs(tmp_path: Path) -> None:
    write_days(tmp_path / "EURUSD.csv", 30, days=(6,))
    bars = load_csv(tmp_path / "EURUSD.csv")
    assert fx_week_note({"EURUSD": bars}, currency_pair) is None
