"""Real files whose table is shaped around the bars (README, "`hostapp replay` reads these
layouts"): pandas' row numbers before columns not named for the time (an ETHUSDT export:
its row numbers were read as the times, 1970-01-01 00:00:00 one second apart, and
traded), ``reset_index``'s ``index`` column and a ``date`` column that is not the first
("missing column(s) time"), several symbols in one file (bokeh's ``stocks.csv``), and a
time with one price a line (findatapy's ``Date,EURUSD.bid``, its header misquoted).
Excerpts of the files the probe read, a few lines each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hostapp.data import infer_timeframe
from hostapp.market.csvdata import CsvError, load_csv

#: ETHUSDT_a.csv: pandas' to_csv of a frame whose time is two columns, neither first
ETHUSDT = """\
,TimeOfCandle,Amount,Date,Open,High,Low,Close,Volume
0,2021-10-27T09:55:00+03:30,163057.4955050465,2021-10-27 09:55:00+03:30,4247.84,4256.64,4246.0,4256.01,38.32171371
1,2021-10-27T10:00:00+03:30,34654.0711221263,2021-10-27 10:00:00+03:30,4256.49,4263.43,4256.41,4258.32,8.1362144
2,2021-10-27T10:05:00+03:30,119438.8924996978,2021-10-27 10:05:00+03:30,4257.78,4257.78,4250.64,4251.1,28.09645598
3,2021-10-27T10:10:00+03:30,79710.138396505,2021-10-27 10:10:00+03:30,4251.66,4255.66,4238.02,4238.02,18.77702086
4,2021-10-27T10:15:00+03:30,35916.8475715381,2021-10-27 10:15:00+03:30,4238.03,4244.0,4236.2,4239.1,8.47077537
"""  # noqa: E501


def test_pandas_row_numbers_before_other_columns_are_skipped_and_the_date_is_the_time(
    tmp_path: Path,
) -> None:
    notes: list[str] = []
    left_out: list[str] = []
    path = write(tmp_path, ETHUSDT, "ETHUSDT_a.csv")
    bars = load_csv(path, notes=notes, left_out=left_out)
    start = datetime(2021, 10, 27, 6, 25, tzinfo=UTC)  # 09:55 at +03:30
    assert [b.time for b in bars] == [start + timedelta(minutes=5 * i) for i in range(5)]
    assert bars[0].open == 4247.84 and bars[0].volume == 38.32171371
    assert infer_timeframe(bars) == "M5"
    assert left_out == ["TimeOfCandle", "Amount"]
    assert notes == [
        f"{path}: the time is column 'Date' (no column is named time; 'TimeOfCandle' holds "
        "dates and times too, not read)"
    ]


def test_a_time_column_is_chosen_by_its_values_not_its_name_alone(tmp_path: Path) -> None:
    """``Date`` of row counts is no time: the column whose values are dates is."""
    text = "Symbol,Date,Open time,open,high,low,close\n"
    text += "X,1,2024-01-02 00:00,1,2,0.5,1.5\nX,2,2024-01-02 00:05,1.5,2,1,1.6\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 2, 0, 5, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # no column but the row numbers reads as a time: they would be the pandas index
        ",open,high,low,close\n0,1,2,0.5,1.5\n1,1.5,2,1,1.6\n2,1.6,2,1,1.7\n",
        # a generic time column of a count
        "time,open,high,low,close\n0,1,2,0.5,1.5\n1,1.5,2,1,1.6\n2,1.6,2,1,1.7\n",
    ],
)
def test_times_that_count_from_the_epoch_by_seconds_are_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CsvError) as info:
        load_csv(path)
    assert str(info.value) == (
        f"{path}:2: the times read as 1970-01-01 00:00:00, 00:00:01, … UTC: epoch seconds "
        "0, 1, …, one second apart, a count of rows and not times; the time must be a "
        "column of dates or epoch times (named time or date)"
    )


INTRADAY = """\
index,date,open,high,low,close,volume
1,2020-12-15 09:30:00,367.4,367.62,367.36,367.46,407870
2,2020-12-15 09:31:00,367.48,367.48,367.19,367.19,173406
3,2020-12-15 09:32:00,367.19,367.4,367.02,367.35,149240
"""

#: Longest.csv: reset_index's column, a symbol, the date third, newest first (1987's crash)
LONGEST = """\
index,symbol,date,open,high,low,close,volume
6322,SPX,1987-10-21,236.83,259.27,236.83,258.38,449600000
6323,SPX,1987-10-20,225.06,245.62,216.46,236.83,608100000
6324,SPX,1987-10-19,282.7,282.7,224.83,224.84,604300000
6325,SPX,1987-10-16,298.08,298.92,281.52,282.7,338500000
6326,SPX,1987-10-15,305.21,305.23,298.07,298.08,263200000
"""


def test_reset_index_and_a_date_column_anywhere_are_read(tmp_path: Path) -> None:
    left_out: list[str] = []
    bars = load_csv(write(tmp_path, INTRADAY, "Intraday.csv"), left_out=left_out)
    assert [b.time.minute for b in bars] == [30, 31, 32] and bars[0].volume == 407870.0
    assert left_out == []  # the row numbers are no column of the bars', not "left out"
    notes: list[str] = []
    bars = load_csv(write(tmp_path, LONGEST, "Longest.csv"), notes=notes, left_out=left_out)
    assert [b.time.day for b in bars] == [15, 16, 19, 20, 21]
    assert bars[2].close == 224.84 and left_out == ["symbol"]
    assert len(notes) == 1 and "read newest first" in notes[0]  # 1987-10-19 is no split


def test_date_and_time_apart_still_read_after_row_numbers(tmp_path: Path) -> None:
    text = "index,Date,Time,Open,High,Low,Close\n0,2024-01-02,09:30,1,2,0.5,1.5\n"
    text += "1,2024-01-02,09:31,1.5,2,1,1.6\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [
        datetime(2024, 1, 2, 9, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 9, 31, tzinfo=UTC),
    ]


#: bokeh's stocks.csv: five symbols, each one's dates again
STOCKS = """\
Ticker,Date,Open,High,Low,Close,Volume,Adj Close
AAPL,2005-02-24,88.48,89.31,87.73,88.93,27125500,5.714372237632
AAPL,2005-02-25,89.62,89.91,88.19,88.99,16348400,5.7182276557615
FB,2012-05-18,42.05,45.0,38.0,38.23,573576400,38.23
GOOG,2005-02-24,183.77,189.01,182.52,188.89,13446700,94.444061
IBM,2005-02-24,92.64,92.93,91.89,92.64,4645800,56.2891
MSFT,2005-02-24,25.18,25.4401,25.15,25.37,85236300,19.067027535294
MSFT,2005-02-25,25.35,25.38,25.15,25.25,62467700,18.976840570208
MSFT,2005-02-28,25.22,25.37,25.1296,25.16,82728000,18.909200346393
"""


def test_a_file_of_several_symbols_names_them_and_reads_the_one_asked(tmp_path: Path) -> None:
    path = write(tmp_path, STOCKS, "stocks.csv")
    with pytest.raises(CsvError) as info:
        load_csv(path, symbol="stocks")
    assert str(info.value) == (
        f"{path}:1: the file holds 5 symbols in column 'Ticker' (AAPL, FB, GOOG, IBM, MSFT), "
        "and 'stocks', the symbol it is read as, is none of them: a run reads one of them "
        "from it, named as its symbol (hostapp replay --symbol AAPL; in [host] data, AAPL = "
        "the file), or give one file per symbol"
    )
    notes: list[str] = []
    left_out: list[str] = []
    bars = load_csv(path, symbol="MSFT", notes=notes, left_out=left_out)
    assert [(b.time.day, b.close) for b in bars] == [(24, 25.37), (25, 25.25), (28, 25.16)]
    assert "Ticker" not in left_out  # read, to choose the rows: not a column left out
    assert notes == [
        f"{path}: holds 5 symbols in column 'Ticker' (AAPL, FB, GOOG, IBM, MSFT); the 3 rows "
        "of MSFT were read, the others left out"
    ]


def test_a_file_of_one_symbol_in_a_symbol_column_reads_as_before(tmp_path: Path) -> None:
    notes: list[str] = []
    bars = load_csv(write(tmp_path, LONGEST), symbol="SPX500", notes=notes)
    assert len(bars) == 5 and not any("symbols in column" in n for n in notes)


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ("Date,EURUSD.bid\n2016-06-14 00:00:00.098,1.1094800233840942\n", "Date,EURUSD.bid"),
        ("Date,S&P500.close\n2008-12-01,816.2100219726562\n", "Date,S&P500.close"),
    ],
)
def test_a_time_and_one_price_is_said_to_be_ticks_or_closes(
    tmp_path: Path, text: str, header: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CsvError) as info:
        load_csv(path)
    price = header.split(",")[1]
    assert str(info.value) == (
        f"{path}:1: header {header!r}: a time and one price, {price!r}, a line: ticks or "
        "closes, not bars; hostapp replays bars (open, high, low, close): export bars from "
        "the tool that wrote it, or build them (pandas: resample('5min').ohlc())"
    )


def test_a_pandas_header_missing_a_price_is_quoted_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Open,High,Low,Volume\n2024-01-02,1,2,0.5,10\n")
    with pytest.raises(CsvError, match=r"missing column\(s\) close in header 'Date,Open,High,"):
        load_csv(path)


#: a symbol's column first, then the date and the time of day in columns of their own
SYMBOL_DATE_TIME = """\
Symbol,Date,Time,Open,High,Low,Close,Volume
XAUUSD,20240304,00:00,2000.10,2001.60,1998.60,2000.50,100
XAUUSD,20240304,01:00,2000.50,2002.00,1999.00,2001.40,120
XAUUSD,20240304,02:00,2001.40,2003.10,2000.20,2002.90,90
"""


def test_a_symbol_column_before_date_and_time_joins_them_as_date_and_time_do(
    tmp_path: Path,
) -> None:
    """``Symbol,Date,Time,Open,…`` was refused ("time '00:00' is not ISO 8601"): the
    time of day is joined to the date, as in the layout without the symbol's column."""
    left_out: list[str] = []
    bars = load_csv(write(tmp_path, SYMBOL_DATE_TIME, "gold.csv"), left_out=left_out)
    plain = SYMBOL_DATE_TIME.replace("Symbol,", "").replace("XAUUSD,", "")
    assert bars == load_csv(write(tmp_path, plain, "plain.csv"))
    assert [b.time for b in bars] == [datetime(2024, 3, 4, h, tzinfo=UTC) for h in range(3)]
    assert left_out == ["Symbol"]  # the date is read
    several = SYMBOL_DATE_TIME + SYMBOL_DATE_TIME.split("\n", 1)[1].replace("XAUUSD", "XAGUSD")
    assert load_csv(write(tmp_path, several, "metals.csv"), symbol="XAUUSD") == bars
