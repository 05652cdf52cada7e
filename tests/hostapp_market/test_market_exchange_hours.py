"""A file whose intraday bars keep an exchange's hours on another clock than UTC, read as
UTC, is said in one note with the ``--data-tz`` that reads it on that clock; the zone is
never changed, and 24-hour markets, daily bars and files written in UTC say nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp

from hookspecs import Bar
from hostapp.market.exchange_hours import exchange_clock_note
from hostapp.market.zones import parse_zone

NEW_YORK = parse_zone("America/New_York")


def session_bars(
    days: list[date], start: tuple[int, int], minutes: int, step: int = 1, shift: int = 0
) -> list[Bar]:
    """``minutes`` of ``step``-minute bars a day from ``start`` (hour, minute) on each day,
    stamped ``shift`` hours later, as written (read as UTC)."""
    out = []
    for day in days:
        first = datetime(day.year, day.month, day.day, *start, tzinfo=UTC)
        for i in range(0, minutes, step):
            t = first + timedelta(hours=shift, minutes=i)
            out.append(Bar(t, 100.0, 100.5, 99.5, 100.0 + i % 3 * 0.1, 1000.0))
    return out


#: the week of SPY's file: Tuesday 2020-12-15 to Friday the 18th
WEEK = [date(2020, 12, d) for d in range(15, 19)]


def test_new_york_minute_bars_on_their_own_clock_are_said_with_the_data_tz() -> None:
    """SPY's 09:30-16:00 New York minute bars, read as UTC, put the opening bell at
    09:30 UTC (DTMS's London session) without a word."""
    bars = session_bars(WEEK, (9, 30), 390)
    bars.append(Bar(bars[-1].time + timedelta(minutes=1), 100.0, 100.0, 100.0, 100.0, 5.0))
    note = exchange_clock_note({"SPY_us.csv": bars}, None)
    assert note is not None
    assert note.startswith(
        "bars read as UTC that keep an exchange's hours on another clock: SPY_us.csv (every "
        "bar opens on a weekday from 09:30 to 16:00, the hours of New York's stock "
        "exchanges: --data-tz America/New_York); if they were written on that clock"
    )
    assert exchange_clock_note({"SPY_us.csv": bars}, parse_zone("UTC")) == note
    assert exchange_clock_note({"SPY_us.csv": bars}, NEW_YORK) is None  # as told: no note
    # bars stamped at their end (09:31 to 16:00), and five-minute bars, alike
    ended = [replace(b, time=b.time + timedelta(minutes=1)) for b in bars[:-1]]
    assert exchange_clock_note({"f.csv": ended}, None) is not None
    assert exchange_clock_note({"f.csv": session_bars(WEEK, (9, 30), 390, 5)}, None) is not None


def test_a_metatrader_clock_seven_hours_ahead_names_the_shifted_zone() -> None:
    bars = session_bars(WEEK, (9, 30), 390, 5, shift=7)
    note = exchange_clock_note({"US500.csv": bars}, None)
    assert note is not None and "from 16:30 to 23:00" in note
    assert "--data-tz America/New_York+7)" in note
    assert parse_zone("America/New_York+7") is not None  # a zone --data-tz takes


@pytest.mark.parametrize(
    "bars",
    [
        # New York's session written in UTC, in winter (14:30) and across the change to
        # summer time (13:30 after 2021-03-14): the times are UTC already
        session_bars(WEEK, (14, 30), 390),
        session_bars([date(2021, 3, 11), date(2021, 3, 12)], (14, 30), 390)
        + session_bars([date(2021, 3, 15), date(2021, 3, 16)], (13, 30), 390),
        # a 24-hour market: forex's week, crypto's weekend
        session_bars(WEEK, (0, 0), 24 * 60, 5),
        session_bars([date(2020, 12, 19), date(2020, 12, 20)], (0, 0), 24 * 60, 60),
        # daily bars; one day only; a weekend bar among session hours
        [Bar(datetime(2020, 12, d, tzinfo=UTC), 1.0, 1.0, 1.0, 1.0, 1.0) for d in range(14, 19)],
        session_bars(WEEK[:1], (9, 30), 390),
        session_bars([*WEEK, date(2020, 12, 19)], (9, 30), 390),
        # an afternoon of a 24-hour market's bars only, wider than the session
        session_bars(WEEK, (9, 30), 420),
    ],
    ids=["utc", "utc-dst", "fx", "crypto", "daily", "one-day", "weekend", "wider"],
)
def test_no_note_where_the_hours_say_nothing_of_the_clock(bars: list[Bar]) -> None:
    assert exchange_clock_note({"f.csv": bars}, None) is None


def test_a_replay_says_so_and_reads_the_file_as_utc_still(tmp_path: Path) -> None:
    lines = ["Date,Time,Open,High,Low,Close,Volume"]
    for b in session_bars(WEEK, (9, 30), 390, 5):
        lines.append(f"{b.time:%m/%d/%Y,%I:%M %p},{b.open},{b.high},{b.low},{b.close},1000")
    (tmp_path / "SPY.csv").write_text("\n".join(lines) + "\n")
    proc = hostapp(tmp_path, "replay", "SPY.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    (note,) = [n for n in summary["host_notes"] if "exchange's hours" in n]
    assert "SPY.csv (every bar opens on a weekday from 09:30 to 16:00" in note
    assert "--data-tz America/New_York" in note
    assert summary["data_tz"] == "UTC"  # read as UTC, as before: said, not changed
    told = hostapp(tmp_path, "replay", "SPY.csv", "--json", "--data-tz", "America/New_York")
    assert told.returncode == 0, told.stderr[-2000:]
    summary = json.loads(told.stdout)
    assert not any("exchange's hours" in n for n in summary["host_notes"])
    assert summary["data_tz"] == "America/New_York"
