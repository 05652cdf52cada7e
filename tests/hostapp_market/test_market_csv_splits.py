"""Splits under half the price (:mod:`hostapp.market.csvsplits`): a 3:2 bonus issue
(987654.csv, 2002-08-22: open a third lower while ``adjClose`` rose) and a 2:1 split that
fell just short of half (AAPL, 2005-02-28: 88.99 → 44.68, -49.8 %) went unnamed, the
rule being a move of 50 % or more; a crash must not be called one (the S&P 500 on
1987-10-19, -20.5 %). Excerpts of the real files, a few lines each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hostapp_loop.csvfiles import write_text as write

from hostapp.market.csvdata import load_csv

#: 987654.csv (Tiingo's columns, compact dates written as floats; its last row's adjusted
#: close is -1.0, a missing value)
BONUS = """\
date,Open,High,Low,Close,Volume,adjClose
20020815.0,17.0,17.01,16.88,16.9,2137200.0,3.29
20020816.0,16.9,17.0,16.75,16.93,3846300.0,3.29
20020819.0,17.0,17.32,16.95,17.24,7211900.0,3.35
20020820.0,17.3,18.26,17.25,18.16,66363700.0,3.53
20020821.0,18.2,18.6,18.03,18.4,70142500.0,3.58
20020822.0,12.28,12.36,12.18,12.31,25286000.0,3.73
20020823.0,12.3,12.92,12.25,12.78,75340800.0,3.88
20020826.0,12.8,12.87,12.66,12.77,28412400.0,3.87
20020827.0,12.77,12.81,12.46,12.59,28243800.0,-1.0
"""


def test_a_bonus_issue_a_third_down_is_named_by_the_adjusted_close(tmp_path: Path) -> None:
    notes: list[str] = []
    splits: list[tuple[datetime, str]] = []
    path = write(tmp_path, BONUS, "987654.csv")
    bars = load_csv(path, notes=notes, splits=splits)
    assert len(bars) == 9
    assert splits == [(datetime(2002, 8, 22, tzinfo=UTC), "3:2 (×0.64)")]
    assert notes == [
        f"{path}: 1 split or dividend in its unadjusted prices, where the close moves and "
        "its adjusted close 'adjClose' does not (line 7, 2002-08-22: 3:2 (×0.64), 18.4 → "
        "12.28); traded as a real move, a stop or target set before it is far off after, "
        "and a stop filled across it is no loss a holder had; replay prices adjusted for "
        "splits (yfinance's auto_adjust=True writes adjusted open, high, low and close)"
    ]


AAPL_2005 = """\
Date,Open,High,Low,Close,Volume,Adj Close
2005-02-23,86.69,88.45,85.55,88.23,24021100,5.6693923594543
2005-02-24,88.48,89.31,87.73,88.93,27125500,5.714372237632
2005-02-25,89.62,89.91,88.19,88.99,16348400,5.7182276557615
2005-02-28,44.68,45.14,43.96,44.86,11635900,5.7651352430039
2005-03-01,44.99,45.11,44.16,44.5,16721000,5.7188702254497
2005-03-02,44.25,44.89,44.08,44.121,16362900,5.6701634430802
"""


def test_a_split_just_short_of_half_is_named_with_or_without_an_adjusted_close(
    tmp_path: Path,
) -> None:
    notes: list[str] = []
    load_csv(write(tmp_path, AAPL_2005, "AAPL.csv"), notes=notes)
    (note,) = notes
    assert "1 split or dividend in its unadjusted prices" in note
    assert "(line 5, 2005-02-28: 2:1 (×0.50), 88.99 → 44.68)" in note
    unadjusted = "\n".join(line.rsplit(",", 1)[0] for line in AAPL_2005.splitlines()) + "\n"
    notes = []
    load_csv(write(tmp_path, unadjusted, "AAPL_yf.csv"), notes=notes)
    (note,) = notes
    assert "1 bar opens at a common split's ratio of the close before (line 5, " in note
    assert "2005-02-28: 2:1 (×0.50), 88.99 → 44.68): a split in unadjusted prices?" in note


#: the S&P 500 around 1987-10-19 (SPX.csv's columns): a crash, not a split
CRASH = """\
date,open,high,low,close,volume
1987-10-14,314.52,314.52,304.78,305.23,207400000
1987-10-15,305.21,305.23,298.07,298.08,263200000
1987-10-16,298.08,298.92,281.52,282.7,338500000
1987-10-19,282.7,282.7,224.83,224.84,604300000
1987-10-20,225.06,245.62,216.46,236.83,608100000
1987-10-21,236.83,259.27,236.83,258.38,449600000
1987-10-22,258.24,258.38,242.99,248.25,392200000
"""


def test_the_crash_of_1987_is_no_split(tmp_path: Path) -> None:
    notes: list[str] = []
    splits: list[tuple[datetime, str]] = []
    bars = load_csv(write(tmp_path, CRASH, "SPX.csv"), notes=notes, splits=splits)
    assert round(bars[3].close / bars[2].close - 1, 3) == -0.205
    assert notes == [] and splits == []
    adjusted = CRASH.replace(",volume\n", ",volume,Adj Close\n")
    adjusted = "\n".join(
        f"{line},{line.split(',')[4]}" if line[0].isdigit() else line
        for line in adjusted.splitlines()
    )
    load_csv(write(tmp_path, adjusted + "\n", "sp500.csv"), notes=notes, splits=splits)
    assert notes == [] and splits == []  # its adjusted close falls with it


def test_an_adjusted_close_too_coarse_to_tell_is_not_read_as_a_split(tmp_path: Path) -> None:
    """0.05 → 0.06 written with two decimals is a 20 % step of rounding alone."""
    text = "Date,Open,High,Low,Close,Adj Close\n2000-01-03,10,10.2,9.9,10,0.05\n"
    text += "2000-01-04,10,10.2,9.9,10.1,0.06\n2000-01-05,10.1,10.2,9.9,10,0.05\n"
    notes: list[str] = []
    load_csv(write(tmp_path, text), notes=notes)
    assert notes == []
