"""A file whose times are written some with their offset and some without is refused,
naming a line of each (hostapp/market/csvoffsets.py): ``10:00+02:00``, ``10:05``,
``10:10Z`` were read with a silent two-hour gap. Files written one way are read as ever,
offsets that change with summer time included."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvoffsets import written_offset

HEADER = "time,open,high,low,close\n"


def _file(tmp_path: Path, times: list[str]) -> Path:
    path = tmp_path / "XAUUSD.csv"
    rows = [f"{t},2000,2001,1999,2000.5" for t in times]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_times_with_and_without_an_offset_in_one_file_are_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, ["2024-03-05 10:00+02:00", "2024-03-05 10:05", "2024-03-05 10:10Z"])
    with pytest.raises(CsvError) as refused:
        load_csv(path)
    said = str(refused.value)
    assert "line 3" in said and "times written with an offset and without one" in said
    assert "line 2 '2024-03-05 10:00+02:00', line 3 '2024-03-05 10:05'" in said


@pytest.mark.parametrize(
    "times",
    [
        ["2024-03-30 23:50+02:00", "2024-03-30 23:55+02:00", "2024-03-31 04:00+03:00"],
        ["2024-03-05T10:00:00Z", "2024-03-05T10:05:00Z"],
        ["2024-03-05 10:00", "2024-03-05 10:05"],
        ["1709632800", "1709633100"],
    ],
)
def test_files_written_one_way_are_read(tmp_path: Path, times: list[str]) -> None:
    assert len(load_csv(_file(tmp_path, times))) == len(times)


def test_what_counts_as_an_offset_written() -> None:
    assert written_offset("2024-03-05T10:00:00-0500") is True
    assert written_offset("2024-03-05 10:00+02") is True
    assert written_offset("2024-03-05 10:00z") is True
    assert written_offset("2024-03-05 10:00") is False
    assert written_offset("2024-03-05") is None and written_offset("1709632800") is None
