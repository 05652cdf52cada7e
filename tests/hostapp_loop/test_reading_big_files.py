"""Files that take seconds to read are announced on the terminal before they are read:
a year of M1 bars of three symbols kept the terminal silent for 36 s before the progress
bar's first line (hostapp/replay_files.py, ``said_reading``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostapp.replay_files import BIG_FILE, said_reading


def test_big_files_are_announced_with_their_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "EURUSD_M1_2024.csv"
    with big.open("wb") as f:
        f.truncate(BIG_FILE + 5_000_000)  # its size is all that is looked at
    small = tmp_path / "GBPUSD.csv"
    small.write_text("time,open,high,low,close\n")

    said_reading([str(big)])
    assert capsys.readouterr().err == f"reading {big} (15 MB)...\n"
    said_reading([str(big), str(small), str(tmp_path / "missing.csv")])
    assert capsys.readouterr().err == "reading 3 files (15 MB)...\n"
    said_reading([str(small)])
    assert capsys.readouterr().err == ""
