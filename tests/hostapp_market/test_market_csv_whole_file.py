"""A refusal of a real file says all a trader needs to fix it in one go: a high or low off
the open or close by float noise alone is read (yfinance's split-adjusted prices), the
values of a refused line are written with the digits that show them apart, the other
lines with the same fault are counted and named, and times out of order are named where
they go against the file's way (a file newest first refused at its rows out of place,
not at its second line); through the real command, one line, exit 2."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_text

from hostapp.market.csvdata import CsvError, load_csv

#: an excerpt of a yfinance download of AAPL's daily bars, split-adjusted: on 1980-12-29
#: the low, 0.12297222763299943, is a float step above the close, 0.12297222763299942
YFINANCE_AAPL = (
    "date,open,high,low,close,volume\n"
    "1980-12-24,0.111016646027565,0.11144360953469892,0.111016646027565,0.111016646027565,"
    "48003200\n"
    "1980-12-26,0.12126438319683075,0.12169134641344498,0.12126438319683075,"
    "0.12126438319683075,55574400\n"
    "1980-12-29,0.12297222763299943,0.12339919085993083,0.12297222763299943,"
    "0.12297222763299942,93161600\n"
    "1980-12-30,0.12041046848990364,0.12041046848990364,0.11998351663351059,"
    "0.11998351663351059,68880000\n"
)


def test_a_low_a_float_step_above_the_close_is_read_as_the_close(tmp_path: Path) -> None:
    """It was refused: ``low 0.122972 is above open 0.122972 or close 0.122972``."""
    bars = load_csv(write_text(tmp_path, YFINANCE_AAPL, "AAPL.csv"))
    assert len(bars) == 4
    bar = bars[2]
    assert (bar.open, bar.high, bar.close) == (
        0.12297222763299943,
        0.12339919085993083,
        0.12297222763299942,
    )
    assert bar.low == 0.12297222763299942  # stretched by the float step, to hold the close


@pytest.mark.parametrize(
    ("close", "high", "read"),
    [
        (1.2, 1.2 - 8 * math.ulp(1.2), True),
        (1.2, 1.2 * (1 - 5e-10), False),
        (1.19999, 1.2, True),
        (1.2, 1.19999, False),
        # a price quoted in whole units at 10^10 (MAX_PRICE allows it): a high one tick
        # below the close is a real fault, though only 1e-10 of the price
        (1e10, 1e10 - 1, False),
        (1e10, 1e10 - 8 * math.ulp(1e10), True),
    ],
)
def test_float_noise_is_a_few_float_steps(
    tmp_path: Path, close: float, high: float, read: bool
) -> None:
    path = write_text(
        tmp_path,
        f"time,open,high,low,close\n2024-01-02 00:00,{close * 0.9!r},{high!r},"
        f"{close * 0.8!r},{close!r}\n",
    )
    if read:
        assert load_csv(path)[0].high == max(high, close)
    else:
        with pytest.raises(CsvError, match=r"data\.csv:2: high .* is below open "):
            load_csv(path)


def test_a_refused_line_writes_its_values_with_the_digits_that_differ(tmp_path: Path) -> None:
    """Six digits made a low a millionth above the close read as equal to it."""
    write_text(
        tmp_path,
        "date,open,high,low,close\n"
        "2024-01-02,0.12297222,0.1234,0.1229723,0.1229722\n"
        "2024-01-03,0.1229722,0.1234,0.1229,0.1230\n",
        "AAPL.csv",
    )
    proc = hostapp(tmp_path, "replay", "--report", "r", "AAPL.csv")
    assert one_error_line(proc) == (
        "hostapp: AAPL.csv:2: low 0.1229723 is above open 0.1229722 or close 0.1229722"
    )


def _gold_rows(count: int) -> list[str]:
    """Hourly rows of a gold file, oldest first, every bar sound."""
    start = datetime(2013, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        t = start + timedelta(hours=i)
        o = 1660.0 + i % 7
        rows.append(f"{t:%Y-%m-%d %H:%M},{o},{o + 3},{o - 3},{o + 1}")
    return rows


def _high_below_open(row: str) -> str:
    time, o, _, low, c = row.split(",")
    return ",".join([time, o, repr(float(o) - 1), low, c])


def _low_above_close(row: str) -> str:
    time, o, h, _, c = row.split(",")
    return ",".join([time, o, h, repr(float(c) + 1), c])


def test_a_refusal_counts_and_names_the_other_lines_like_it(tmp_path: Path) -> None:
    """A gold file with 125 bars whose high is below the open or whose low is above the
    close named the first alone: fixed, the rerun named the next, 125 times."""
    rows = _gold_rows(40)
    for i in (3, 7, 10, 18, 25, 31):  # lines 5, 9, 12, 20, 27, 33
        rows[i] = _high_below_open(rows[i]) if i % 2 else _low_above_close(rows[i])
    write_text(tmp_path, "time,open,high,low,close\n" + "\n".join(rows) + "\n", "XAU.csv")
    proc = hostapp(tmp_path, "replay", "--report", "r", "XAU.csv")
    assert one_error_line(proc) == (
        "hostapp: XAU.csv:5: high 1662 is below open 1663 or close 1664; and 5 more lines "
        "like it: 9, 12, 20, …, 33"
    )
    assert not (tmp_path / "r").exists()


def test_a_newest_first_file_is_refused_at_its_first_such_line(tmp_path: Path) -> None:
    """Read from its end, the file met its last bad line first, and named it."""
    rows = _gold_rows(20)
    for i in (4, 15):
        rows[i] = _low_above_close(rows[i])
    text = "time,open,high,low,close\n" + "\n".join(reversed(rows)) + "\n"
    with pytest.raises(CsvError, match=r"data\.csv:6: low .*; and 1 more line like it: 17$"):
        load_csv(write_text(tmp_path, text))


def test_the_count_stops_at_a_line_of_another_fault_and_says_so(tmp_path: Path) -> None:
    rows = _gold_rows(20)
    rows[2], rows[5], rows[12] = (_low_above_close(rows[i]) for i in (2, 5, 12))
    rows[8] = rows[8].replace(",", ",x", 1)  # line 10: a word where the open goes
    text = "time,open,high,low,close\n" + "\n".join(rows) + "\n"
    with pytest.raises(
        CsvError, match=r"data\.csv:4: low .*; and at least 1 more line like it: 7$"
    ):
        load_csv(write_text(tmp_path, text))


def _bitfinex(hours: int, first: int) -> str:
    """Bitfinex's hourly history as it writes it, newest first, with the eleven rows from
    hour ``first`` on out of order as in its BTCUSD file of November 2017 (lines 14371 to
    14380): the five later hours each placed after one of the six earlier ones."""
    start = datetime(2017, 11, 11, 12, tzinfo=UTC)
    earlier, later = range(first, first + 6), range(first + 6, first + 11)
    mixed = [h for pair in zip(earlier, [*later, None], strict=True) for h in pair if h is not None]
    order = [*range(first), *mixed, *range(first + 11, hours)]
    rows = [
        f"{start + timedelta(hours=h):%Y-%m-%d %H:%M},BTCUSD,{6000 + h},{6010 + h},{5990 + h},"
        f"{6005 + h},1.5,9000"
        for h in reversed(order)
    ]
    return "Date,Symbol,Open,High,Low,Close,VolumeFrom,VolumeTo\n" + "\n".join(rows) + "\n"


def test_a_newest_first_file_is_refused_where_its_rows_are_out_of_order(tmp_path: Path) -> None:
    """It was refused at line 3, as if the file had to be oldest first, though a file
    newest first is read reversed: its ten rows out of place were left to find."""
    write_text(tmp_path, _bitfinex(60, 20), "bitfinex-1h-btc-usd.csv")
    proc = hostapp(tmp_path, "replay", "--report", "r", "bitfinex-1h-btc-usd.csv")
    assert one_error_line(proc) == (
        "hostapp: bitfinex-1h-btc-usd.csv:32: time 2017-11-12T18:00:00+00:00 is after the "
        "previous line's 2017-11-12T13:00:00+00:00 in a file written newest first (rows must "
        "be sorted one way, newest or oldest first); and 4 more lines like it: 34, 36, 38, 40"
    )


def test_an_oldest_first_file_names_each_place_its_times_go_back(tmp_path: Path) -> None:
    rows = _gold_rows(30)
    rows[9], rows[10] = rows[10], rows[9]
    rows[20], rows[21] = rows[21], rows[20]
    text = "time,open,high,low,close\n" + "\n".join(rows) + "\n"
    with pytest.raises(CsvError) as refused:
        load_csv(write_text(tmp_path, text))
    assert str(refused.value).endswith(
        "data.csv:12: time 2013-01-01T09:00:00+00:00 is before the previous line's "
        "2013-01-01T10:00:00+00:00 (rows must be sorted oldest first); and 1 more line like "
        "it: 23"
    )
