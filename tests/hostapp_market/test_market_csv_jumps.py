"""A split in unadjusted prices (AAPL's 4:1 of 2020-08-31) is said in the run's notes,
naming its line and ratio, told by the file's adjusted close or, without one, by a common
split's ratio at the open; a bar that opens half the price or more away from the close
before that is no such split is said too. Neither is refused. Through the real
``hostapp replay`` too (:mod:`hostapp.market.csvsplits`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from hostapp_loop.csvfiles import write_text as write

from hostapp.market.csvdata import load_csv


def daily(split_at: int, days: int = 60, adjusted: bool = True) -> str:
    """yfinance's columns, a 4:1 split on day ``split_at`` (unadjusted prices)."""
    rows = ["Date,Open,High,Low,Close,Adj Close,Volume" if adjusted else "Date,Open,High,Low,Close"]
    start = date(2020, 7, 1)
    for i in range(days):
        price = (500.0 + i) / (4 if i >= split_at else 1)
        day = start + timedelta(days=i)
        cells = [f"{day}", f"{price:.2f}", f"{price * 1.01:.2f}", f"{price * 0.99:.2f}"]
        cells.append(f"{price:.2f}")
        if adjusted:
            cells += [f"{(500.0 + i) / 4:.2f}", "1000"]
        rows.append(",".join(cells))
    return "\n".join(rows) + "\n"


def test_a_split_is_said_with_its_line_and_the_adjusted_column(tmp_path: Path) -> None:
    notes: list[str] = []
    path = write(tmp_path, daily(40))
    bars = load_csv(path, notes=notes)
    assert len(bars) == 60  # read, not refused
    assert notes == [
        f"{path}: 1 split or dividend in its unadjusted prices, where the close moves and "
        "its adjusted close 'Adj Close' does not (line 42, 2020-08-10: 4:1 (×0.25), 539 → "
        "135); traded as a real move, a stop or target set before it is far off after, and "
        "a stop filled across it is no loss a holder had; replay prices adjusted for splits "
        "(yfinance's auto_adjust=True writes adjusted open, high, low and close)"
    ]


def test_without_an_adjusted_column_a_common_ratio_is_asked_about(tmp_path: Path) -> None:
    notes: list[str] = []
    load_csv(write(tmp_path, daily(40, adjusted=False)), notes=notes)
    (note,) = notes
    assert "1 bar opens at a common split's ratio of the close before (line 42, " in note
    assert "2020-08-10: 4:1 (×0.25), 539 → 135): a split in unadjusted prices?" in note


def test_a_jump_at_no_splits_ratio_is_said_as_before(tmp_path: Path) -> None:
    text = "time,open,high,low,close\n2024-01-02,100,100,60,60\n2024-01-03,27,28,26,27\n"
    notes: list[str] = []
    load_csv(write(tmp_path, text), notes=notes)
    (note,) = notes
    assert "1 bar opens 50% or more away from the close before (line 3, 2024-01-03: 60 → 27" in note
    assert note.endswith(
        "a stock split, or a gap in the data? unadjusted prices are traded as a real move, "
        "and a stop or target set before it is far off after; replay prices adjusted for splits"
    )


def test_moves_under_half_the_price_are_not_said(tmp_path: Path) -> None:
    text = "time,open,high,low,close\n2024-01-02,100,100,60,60\n2024-01-03,61,62,60,61\n"
    text += "2024-01-04,91,92,90,91\n"  # +49 % from 61: not a jump
    notes: list[str] = []
    load_csv(write(tmp_path, text), notes=notes)
    assert notes == []


def test_hostapp_replay_says_the_split(tmp_path: Path) -> None:
    write(tmp_path, daily(200, days=300), "AAPL.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "AAPL.csv", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads(proc.stdout)["host_notes"]
    assert any("AAPL.csv: 1 split or dividend" in n and "'Adj Close'" in n for n in notes)
