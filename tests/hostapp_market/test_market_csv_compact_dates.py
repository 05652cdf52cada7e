"""Dates written as an eight-digit number, ``20040819`` (or ``19991110.0`` from a pandas
float column), as exchange downloads write them: read as that day, not as the epoch
seconds of August 1970 they also are; the file tells which, once, and a file that cannot
tell is refused, naming the line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar, ConfigError
from hostapp.data import infer_timeframe
from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvdates import compact_date, date_order
from hostapp.market.csvrows import parse_zone


def day(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def weekdays(first: datetime, n: int) -> list[datetime]:
    days = [first + timedelta(days=i) for i in range(2 * n)]
    return [d for d in days if d.weekday() < 5][:n]


def daily_rows(times: list[datetime], form: str) -> str:
    return "".join(f"{t:{form}},100,101,99,100.5,1200\n" for t in times)


def test_an_exchange_download_of_yyyymmdd_dates_is_daily_bars(tmp_path: Path) -> None:
    """The tester's file: ``date,open,…`` with 20040819. Read as seconds it was bars one
    second apart in August 1970 and the timeframe could not be told."""
    times = weekdays(day(2004, 8, 19), 30)
    rows = daily_rows(times, "%Y%m%d")
    bars = load_csv(write(tmp_path, "date,open,high,low,close,volume\n" + rows))
    assert [b.time for b in bars] == times
    assert bars[0] == Bar(day(2004, 8, 19), 100.0, 101.0, 99.0, 100.5, 1200.0, 0.0)
    assert infer_timeframe(bars) == "D1"
    generic = load_csv(write(tmp_path, "time,open,high,low,close,volume\n" + rows))
    assert [b.time for b in generic] == times


def test_yyyymmdd_as_a_pandas_float_with_row_numbers(tmp_path: Path) -> None:
    times = weekdays(day(1999, 11, 10), 5)
    rows = "".join(f"{i},{t:%Y%m%d}.0,1.5,1.6,1.4,1.55,1000.0\n" for i, t in enumerate(times))
    bars = load_csv(write(tmp_path, ",Date,Open,High,Low,Close,Volume\n" + rows))
    assert [b.time for b in bars] == times


def test_yyyymmdd_dates_are_midnight_in_the_files_zone(tmp_path: Path) -> None:
    text = "time,open,high,low,close\n20240102,1,1,1,1\n20240103,1,1,1,1\n"
    bars = load_csv(write(tmp_path, text), zone=parse_zone("+02:00"))
    assert [b.time for b in bars] == [day(2024, 1, 1, 22), day(2024, 1, 2, 22)]


def test_metatrader5_api_bars_with_yyyymmdd_dates_take_the_zone_once(tmp_path: Path) -> None:
    text = "time,open,high,low,close,tick_volume\n20240102,1.1,1.2,1.0,1.1,5\n"
    (bar,) = load_csv(write(tmp_path, text), zone=parse_zone("+02:00"))
    assert bar.time == day(2024, 1, 1, 22)


@pytest.mark.parametrize(
    ("date", "time"),
    [("20040819", "09:30"), ("20040819", "9:30"), ("20040819", "0930"), ("20040819.0", "09:30")],
)
def test_yyyymmdd_with_the_time_of_day_in_its_own_column(
    tmp_path: Path, date: str, time: str
) -> None:
    text = f"Date,Time,Open,High,Low,Close\n{date},{time},1,1,1,1\n20040819,09:35,1,1,1,1\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [day(2004, 8, 19, 9, 30), day(2004, 8, 19, 9, 35)]


def test_eight_digit_epoch_seconds_of_real_bars_stay_seconds(tmp_path: Path) -> None:
    """Bars in epoch seconds open on whole minutes: 20040780 is no date (day 80), and
    20041020, which is one, is followed by 20041080, which is not."""
    text = "time,open,high,low,close\n20040780,1,1,1,1\n20040840,1,1,1,1\n"
    assert [b.time for b in load_csv(write(tmp_path, text))] == [
        day(1970, 8, 20, 22, 53),
        day(1970, 8, 20, 22, 54),
    ]
    text = "time,open,high,low,close\n20041020,1,1,1,1\n20041080,1,1,1,1\n"
    assert [b.time for b in load_csv(write(tmp_path, text))] == [
        day(1970, 8, 20, 22, 57),
        day(1970, 8, 20, 22, 58),
    ]


def test_a_file_that_cannot_tell_dates_from_seconds_is_refused(tmp_path: Path) -> None:
    """20040120 and 20040420 are dates three months apart, or M1 bars three minutes
    apart: every time is a date and a whole minute, so nothing tells."""
    p = write(tmp_path, "time,open,high,low,close\n20040120,1,1,1,1\n20040420,1,1,1,1\n")
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert str(info.value) == (
        f"{p}:2: time '20040120' may be the date 2004-01-20 or epoch seconds "
        "(1970-08-20 22:42 UTC), and no time in the file tells which: write the dates as "
        "YYYY-MM-DD"
    )


@pytest.mark.parametrize(
    ("rows", "line", "bad"),
    [
        ("20240229,1,1,1,1\n20240231,1,1,1,1\n", 3, "20240231"),
        # a bad first date does not turn the file into epoch seconds of 1970
        ("20240231,1,1,1,1\n20240301,1,1,1,1\n20240304,1,1,1,1\n", 2, "20240231"),
    ],
)
def test_a_bad_yyyymmdd_date_names_its_line(tmp_path: Path, rows: str, line: int, bad: str) -> None:
    p = write(tmp_path, "time,open,high,low,close\n" + rows)
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert str(info.value) == (
        f"{p}:{line}: time '{bad}' is not a date YYYYMMDD, as the file's other eight-digit "
        "times are"
    )


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("20040819", datetime(2004, 8, 19)),
        ("19991110.0", datetime(1999, 11, 10)),
        ("18991231", None),  # before 1900: no market's date
        ("21010101", None),
        ("20041301", None),
        ("2004081", None),
        ("1704153600", None),
    ],
)
def test_compact_date(text: str, date: datetime | None) -> None:
    assert compact_date(text) == date


def test_the_order_of_other_dates_is_unchanged() -> None:
    assert date_order([(2, "13/01/2024")]) == "dmy"
    assert date_order([(2, "2024-01-02")]) is None
    assert date_order([(2, "1704153600")]) is None
    assert date_order([(2, "20240102"), (3, "20240103")]) == "ymd"


def test_the_timeframe_error_says_its_gaps_are_seconds() -> None:
    bars = [Bar(day(2024, 1, 2) + timedelta(seconds=s), 1, 1, 1, 1) for s in (0, 1, 3, 70)]
    with pytest.raises(ConfigError) as info:
        infer_timeframe(bars, "x.csv")
    assert str(info.value) == (
        "x.csv: cannot tell the timeframe (bar gaps in seconds [1, 2, 67]); use --timeframe"
    )
