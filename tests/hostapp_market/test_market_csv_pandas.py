"""CSV import of pandas' ``to_csv`` and of yfinance downloads saved with it: the index
column, any column order and case, ``Adj Close`` ignored, offsets converted to UTC, the
two extra header rows of newer yfinance, and errors that name file and line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar
from hostapp.market.csvdata import CsvError, load_csv


def day(d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, d, hour, minute, tzinfo=UTC)


def test_yfinance_daily_download(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700\n"
        "2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert bars == [
        Bar(day(2), 187.15, 188.44, 183.89, 185.64, 82488700.0, 0.0),
        Bar(day(3), 184.22, 185.88, 183.43, 184.25, 58414500.0, 0.0),
    ]
    assert all(b.time.tzinfo is UTC for b in bars)


def test_unnamed_index_any_order_and_case_no_volume(tmp_path: Path) -> None:
    text = (
        ",close,LOW,High,open\n"
        "2024-01-02 10:00:00,1.5,0.5,2,1\n"
        "2024-01-02 11:00:00,1.6,1.4,1.7,1.5\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert bars[0] == Bar(day(2, 10), 1.0, 2.0, 0.5, 1.5, 0.0, 0.0)  # naive: UTC, volume 0
    assert bars[1].time == day(2, 11)


def test_intraday_offsets_become_utc_and_volume_may_be_a_float(tmp_path: Path) -> None:
    text = (
        "Datetime,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02 09:30:00-05:00,10,11,9,10.5,10.5,1234.0\n"
        "2024-01-02 14:35:00+00:00,10.5,11,10,10.75,10.75,99.5\n"
        "2024-01-02 15:40:00+01:00,10.75,11,10.5,10.6,10.6,0\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [day(2, 14, 30), day(2, 14, 35), day(2, 14, 40)]
    assert [b.volume for b in bars] == [1234.0, 99.5, 0.0]


def test_newer_yfinance_two_level_header(tmp_path: Path) -> None:
    text = (
        "Price,Adj Close,Close,High,Low,Open,Volume\n"
        "Ticker,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X,EURUSD=X\n"
        "Date,,,,,,\n"
        "2024-01-01 00:00:00+00:00,1.1039,1.1039,1.1047,1.1012,1.1037,0\n"
        "2024-01-02 00:00:00+00:00,1.1035,1.1035,1.1040,1.0937,1.1038,0\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert bars[0] == Bar(day(1), 1.1037, 1.1047, 1.1012, 1.1039, 0.0, 0.0)
    assert [b.time for b in bars] == [day(1), day(2)]


def test_a_row_without_prices_is_a_missing_bar_and_is_skipped(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,,,,,\n"
    text += "2024-01-04,1.5,2,1,1.2,\n"
    bars = load_csv(write(tmp_path, text))
    assert [(b.time, b.volume) for b in bars] == [(day(2), 10.0), (day(4), 0.0)]


def test_monthly_yfinance_download_reads_as_given(tmp_path: Path) -> None:
    rows = [f"2024-{m:02d}-01,1.1,1.2,1.0,1.15,1.15,0" for m in range(1, 7)]
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(rows) + "\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time.month for b in bars] == [1, 2, 3, 4, 5, 6]
    assert all(b.time.day == 1 and b.time.hour == 0 for b in bars)


HEAD = "Date,Open,High,Low,Close,Adj Close,Volume\n"
ROW = "2024-01-02,1.1,1.2,1.0,1.15,1.15,10\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (HEAD + ROW + "02/01/2024,1.1,1.2,1.0,1.15,1.15,10\n", 3, "time '02/01/2024' is not"),
        (HEAD + ROW + "2024-01-03,1.1,1.2,1.0,,1.15,10\n", 3, "missing value for close"),
        (HEAD + ROW + "2024-01-03,1.1,x,1.0,1.15,1.15,10\n", 3, "high 'x' is not a number"),
        (HEAD + ROW + "2024-01-03,1.1,1.2,1.0,1.15,1.15,-1\n", 3, "volume -1 is negative"),
        (HEAD + ROW + "2024-01-03,1.25,1.2,1.0,1.15,1.15,1\n", 3, "high 1.2 is below open"),
        (HEAD + ROW + ROW.replace(",10", ",11"), 3, "duplicate time 2024-01-02T00:00:00+00:00"),
        (
            HEAD
            + ROW
            + "2024-01-03,1.1,1.2,1.0,1.15,1.15,10\n2024-01-01,1.1,1.2,1.0,1.15,1.15,10\n",
            4,
            "is before the previous",
        ),
        (HEAD + ROW + "2024-01-03,1.1,1.2,1.0,1.15,1.15,10,7\n", 3, "8 values but the header"),
        ("Date,Open,High,Low,Volume\n" + ROW, 1, "missing column(s) close"),
        ("Date,Open,High,Low,Close,Adj Close,Volum\n" + ROW, 1, "'Volum' is one letter off"),
        ("Date,Open,High,Low,Close,open\n" + ROW, 1, "column 'open' appears twice"),
        (HEAD, 1, "no bars after the header"),
        (HEAD + "2024-01-02,,,,,,\n", 1, "no bars after the header"),
    ],
)
def test_bad_pandas_files_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    p = write(tmp_path, text)
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert (info.value.path, info.value.line) == (str(p), line)
    assert str(info.value).startswith(f"{p}:{line}: ")
    assert message in str(info.value)


def test_a_price_header_without_the_ticker_row_is_not_taken_for_pandas(tmp_path: Path) -> None:
    p = write(tmp_path, "Price,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(CsvError, match=r"data\.csv:1: missing column\(s\) time in header 'Price,"):
        load_csv(p)


def test_the_generic_format_is_unchanged(tmp_path: Path) -> None:
    """``time`` first is still the generic format: a column it does not read (``Adj
    Close``) is left out there, by name, as any other."""
    p = write(tmp_path, "time,open,high,low,close,Adj Close\n2024-01-02,1,2,0.5,1.5,1.4\n")
    left_out: list[str] = []
    (bar,) = load_csv(p, left_out=left_out)
    assert bar.close == 1.5 and left_out == ["Adj Close"]
