"""The one definition of a timeframe: names, lengths, buckets, what builds what, and the
signal timeframe DTMS reads for each fast one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookspecs import DataError, Timeframe
from hookspecs.timeframes import epoch_seconds

T = datetime(2024, 3, 13, 17, 42, tzinfo=UTC)  # a Wednesday


def test_names_parse_case_insensitively_and_errors_name_the_field() -> None:
    assert Timeframe.parse(" h1 ") is Timeframe.H1
    assert Timeframe.parse("mn1") is Timeframe.MN1
    assert Timeframe.H1 == "H1"
    with pytest.raises(DataError, match=r"^fast_timeframe: unknown timeframe 'H7' \(known: M1,"):
        Timeframe.parse("H7", "fast_timeframe")
    with pytest.raises(DataError, match="timeframe: unknown timeframe 5"):
        Timeframe.parse(5)


@pytest.mark.parametrize(
    ("fast", "signal"),
    [
        ("M1", "M5"),
        ("M5", "M15"),
        ("M15", "H1"),
        ("M30", "H1"),
        ("H1", "H4"),
        ("H4", "D1"),
        ("D1", "W1"),
        ("W1", None),
        ("MN1", None),
    ],
)
def test_signal_timeframe_of_each_fast_timeframe(fast: str, signal: str | None) -> None:
    got = Timeframe.parse(fast).signal
    assert (got.value if got else None) == signal
    if got is not None:
        assert got.can_build_from(fast)  # the host can always build the signal bars


METATRADER5 = "M1 M2 M3 M4 M5 M6 M10 M12 M15 M20 M30 H1 H2 H3 H4 H6 H8 H12 D1 W1 MN1"


def test_every_metatrader5_period_is_a_timeframe_with_a_buildable_signal() -> None:
    """MetaTrader 5's 21 periods, in order; DTMS's automatic signal timeframe of each one up
    to D1 is coarser and built from it (H2 files were "unknown timeframe")."""
    assert [tf.value for tf in Timeframe] == METATRADER5.split()
    for tf in Timeframe:
        if tf.finer_than("W1"):
            assert tf.signal is not None and tf.finer_than(tf.signal), tf
            assert tf.signal.can_build_from(tf), tf
    assert Timeframe.parse("h12").seconds == 12 * 3600
    assert Timeframe.M20.can_build_from("M4") and not Timeframe.H3.can_build_from("H2")


@pytest.mark.parametrize(
    ("tf", "start", "end"),
    [
        ("M15", datetime(2024, 3, 13, 17, 30), datetime(2024, 3, 13, 17, 45)),
        ("H4", datetime(2024, 3, 13, 16, 0), datetime(2024, 3, 13, 20, 0)),
        ("D1", datetime(2024, 3, 13), datetime(2024, 3, 14)),
        ("W1", datetime(2024, 3, 10), datetime(2024, 3, 17)),  # Sunday to Sunday
        ("MN1", datetime(2024, 3, 1), datetime(2024, 4, 1)),
    ],
)
def test_buckets_follow_metatrader(tf: str, start: datetime, end: datetime) -> None:
    t = Timeframe.parse(tf)
    assert t.bucket_start(T) == start.replace(tzinfo=UTC)
    assert t.bucket_end(T) == end.replace(tzinfo=UTC)


def test_december_rolls_into_the_next_year() -> None:
    dec = datetime(2023, 12, 31, 23, 0, tzinfo=UTC)
    assert Timeframe.MN1.bucket_end(dec) == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "base", "ok"),
    [
        ("M15", "M5", True),
        ("M15", "M15", True),
        ("M5", "M15", False),  # never down
        ("H1", "M30", True),
        ("M30", "M15", True),
        ("H4", "H1", True),
        ("D1", "H4", True),
        ("W1", "D1", True),
        ("W1", "H4", True),
        ("MN1", "D1", True),
        ("MN1", "M1", True),
        ("MN1", "W1", False),  # a month does not start on a Sunday
        ("D1", "W1", False),
    ],
)
def test_what_builds_what(target: str, base: str, ok: bool) -> None:
    assert Timeframe.parse(target).can_build_from(base) is ok


def test_lengths_and_order() -> None:
    order = list(Timeframe)
    assert [tf.seconds for tf in order] == sorted(tf.seconds for tf in order)
    assert Timeframe.M5.period.total_seconds() == 300
    assert Timeframe.M5.finer_than("H1") and not Timeframe.D1.finer_than("H1")
    assert not Timeframe.MN1.fixed and Timeframe.W1.fixed


@pytest.mark.parametrize(
    ("number", "seconds"),
    [
        (1_767_225_600, 1_767_225_600),  # seconds: 2026
        (99_999_999_999, 99_999_999_999),  # still seconds: the year 5138
        (100_000_000_000, 100_000_000),  # milliseconds from here: March 1973
        (1_767_225_600_500, 1_767_225_600.5),
        (99_999_999_999_999, 99_999_999_999.999),
        (100_000_000_000_000, 100_000_000),  # microseconds from here
        (1_767_225_600_000_250, 1_767_225_600.00025),
    ],
)
def test_an_epoch_number_is_read_by_its_size(number: int, seconds: float) -> None:
    assert epoch_seconds(number) == pytest.approx(seconds, abs=1e-6)


def test_a_zone_that_cannot_be_hashed_still_buckets() -> None:
    """dateutil's zones define equality without a hash: the cached check of whether an
    hour divides a zone's offsets raised TypeError for them."""
    from datetime import UTC, datetime, timedelta, tzinfo

    from hookspecs import Timeframe

    class Plus1(tzinfo):
        __hash__ = None  # type: ignore[assignment]

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Plus1)

        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=1)

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

    when = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)
    assert Timeframe.H1.bucket_start(when, Plus1()) == datetime(2024, 3, 4, 23, tzinfo=UTC)
    assert Timeframe.D1.bucket_start(when, Plus1()) == datetime(2024, 3, 4, 23, tzinfo=UTC)
