"""A file mixing times written with an offset and without one (``10:00+02:00`` beside
``10:05``) is read, as every layout mixed in one file is; but the bare ones are read on
the data's clock (``--data-tz``, UTC unset), not on the offset the others carry, so a
bar may land hours away from its neighbours: that was silent, and is now a note naming
the first line of each kind. A file written one way throughout says nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_text
from hostapp_market.test_market_csv_mend import HEADER, load

from hostapp.market.csvmend import with_offset

MIXED_NOTE = (
    "times written with an offset (line 2) and without one (line 4) are mixed: those"
    " without were read on the data's clock (--data-tz or [host] data_tz; UTC unset), not"
    " on the offset's"
)


def _rows(times: list[str]) -> str:
    return HEADER + "".join(f"{t},1.1,1.2,1.0,1.15,{i + 1}\n" for i, t in enumerate(times))


def test_a_file_mixing_offsets_and_bare_times_says_so(tmp_path: Path) -> None:
    times = ["2024-01-02T10:00:00+00:00", "2024-01-02T10:05:00Z", "2024-01-02 10:10"]
    assert load(tmp_path, _rows(times)) == (3, [MIXED_NOTE])


@pytest.mark.parametrize(
    "times",
    [
        ["2024-01-02 10:00", "2024-01-02 10:05", "2024-01-02 10:10"],
        ["2024-01-02T10:00:00+02:00", "2024-01-02T10:05:00+02:00", "2024-01-02T10:10:00+02:00"],
        ["2024-01-02", "2024-01-03", "2024-01-04"],
    ],
    ids=["bare", "offsets", "dates"],
)
def test_a_file_written_one_way_says_nothing(tmp_path: Path, times: list[str]) -> None:
    assert load(tmp_path, _rows(times)) == (3, [])


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2024-01-02T10:00:00+02:00", True),
        ("2024-01-02 10:00:00.000-0500", True),
        ("2024-01-02T00:05:00Z", True),
        ("2024-01-02 10:00 -05:00", True),
        ("2024-01-02", False),
        ("20-01-2024", False),
        ("2024-01-02 10:05:00", False),
        ("1704153600", False),
    ],
)
def test_an_offset_is_told_from_a_dates_dashes(text: str, offset: bool) -> None:
    assert with_offset(text) is offset


def test_a_replay_of_such_a_file_carries_the_note_in_its_summary(tmp_path: Path) -> None:
    times = [f"2024-01-02T{h:02d}:{m:02d}:00+00:00" for h in range(10, 14) for m in range(0, 60, 5)]
    times[30:] = [t.replace("T", " ").removesuffix(":00+00:00") for t in times[30:]]
    write_text(tmp_path, _rows(times), "EURUSD.csv")
    done = hostapp(tmp_path, "replay", "EURUSD.csv", "--report", "r")
    assert done.returncode == 0, done.stderr[-2000:]
    notes = json.loads((tmp_path / "r" / "summary.json").read_text())["host_notes"]
    said = [n for n in notes if "are mixed" in n]
    assert len(said) == 1 and "(line 2) and without one (line 32)" in said[0], notes
