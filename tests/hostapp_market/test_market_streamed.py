"""The streamed synthetic feed: the same bars as the whole-list generator always gave, and
a replay feed over it that shows what a feed over the stored list shows while keeping
only a recent window."""

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.counting import CountingBars

from hookspecs import Bar
from hostapp.data import BUILTIN_START, builtin_series, streamed_builtin_series
from hostapp.market.feed import ReplayFeed
from hostapp.market.synthetic import SyntheticSeries, generate_bars, iter_bars

M5 = timedelta(minutes=5)
ODD_START = datetime(2024, 3, 8, 21, 7, tzinfo=UTC)  # a Friday evening, off the grid


def digest(bars: Iterable[Bar]) -> str:
    h = hashlib.sha256()
    for b in bars:
        h.update(
            f"{b.time.isoformat()},{b.open!r},{b.high!r},{b.low!r},{b.close!r},"
            f"{b.volume!r},{b.spread!r};".encode()
        )
    return h.hexdigest()[:16]


# Computed with the generator as it was before it streamed (it built the whole list up
# front): the streamed one must give these bars, float for float.
PINNED = [
    ("XAUUSD", "M5", 0, 20000, BUILTIN_START, None, "f2be3fd4887a8d6d"),
    ("EURUSD", "M1", 7, 5000, BUILTIN_START, None, "7f0380716408972e"),
    ("BTCUSD", "M5", 3, 20000, BUILTIN_START, None, "1fd02850c5cdf9d5"),
    ("ZZZ", "H1", 1, 3000, BUILTIN_START, None, "832060c4426605ac"),
    ("GBPUSD", "D1", 2, 400, BUILTIN_START, None, "b2b0d78a4fd1ac03"),
    ("USDJPY", "MN1", 5, 30, BUILTIN_START, None, "2aff650421f6666c"),
    ("EURUSD", "M15", 9, 3000, ODD_START, None, "7ccb47faeec71776"),
    ("EURUSD", "M5", 9, 3000, ODD_START, False, "d7a26b1ebf62d660"),
]


@pytest.mark.parametrize(("symbol", "tf", "seed", "count", "start", "skip", "expected"), PINNED)
def test_streamed_bars_equal_the_former_whole_list_bar_for_bar(
    symbol: str,
    tf: str,
    seed: int,
    count: int,
    start: datetime,
    skip: bool | None,
    expected: str,
) -> None:
    stream = iter_bars(symbol, start, timeframe=tf, seed=seed, skip_weekends=skip)
    streamed = [next(stream) for _ in range(count)]
    assert digest(streamed) == expected
    assert streamed == generate_bars(
        symbol, start, count, timeframe=tf, seed=seed, skip_weekends=skip
    )


def test_builtin_series_streamed_equals_the_former_list() -> None:
    """The builtin feed's calendar-day cut (a bar belongs when it closed by the end) is
    the same streamed: pinned from the former list for a 24/7 and a weekday symbol."""
    stored = builtin_series(["XAUUSD", "BTCUSD"], days=9.5, seed=4)
    streamed = streamed_builtin_series(["XAUUSD", "BTCUSD"], days=9.5, seed=4)
    assert (len(stored["XAUUSD"]), digest(stored["XAUUSD"])) == (2160, "01da5119a19f35dd")
    assert (len(stored["BTCUSD"]), digest(stored["BTCUSD"])) == (2736, "90359e4cf9c894f8")
    for symbol in stored:
        assert list(streamed[symbol]) == stored[symbol]
        assert list(streamed[symbol]) == stored[symbol]  # a second pass starts over


def test_a_synthetic_series_of_years_costs_nothing_up_front() -> None:
    """Made as it is read: the first bars of a 1,200-day series come without making the
    rest (a whole list would be 345,600 bars per symbol)."""
    series = SyntheticSeries("XAUUSD", BUILTIN_START, BUILTIN_START + timedelta(days=1200))
    assert series.head(3) == generate_bars("XAUUSD", BUILTIN_START, 3)
    with pytest.raises(ValueError, match="timeframe"):
        SyntheticSeries("XAUUSD", BUILTIN_START, BUILTIN_START, timeframe="M7")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    n=st.integers(0, 900),
    keep=st.integers(1, 60),
    stride=st.integers(1, 40),
    tf=st.sampled_from(["M15", "H1", "H4"]),
)
def test_streamed_feed_shows_what_the_stored_feed_shows(
    seed: int, n: int, keep: int, stride: int, tf: str
) -> None:
    """Step by step and in jumps, over the weekend gap, with a window far smaller than the
    series: the same new bars, the same base bars and the same higher-timeframe bars (as
    far back as the window reaches), and the same steps."""
    bars = {
        "EURUSD": generate_bars("EURUSD", ODD_START, n, seed=seed),
        "BTCUSD": generate_bars("BTCUSD", ODD_START, n // 2, seed=seed),
    }
    stored = ReplayFeed(bars)
    timeline = stored.timeline()
    stepping = ReplayFeed({s: CountingBars(b) for s, b in bars.items()}, keep=keep)
    steps = []
    for now in stepping.steps():
        steps.append(now)
        stepping.advance(now)
    assert steps == timeline
    streamed = ReplayFeed({s: CountingBars(b) for s, b in bars.items()}, keep=keep)
    for now in [*timeline[::stride], *timeline[-1:]]:
        assert streamed.advance(now) == stored.advance(now)
        for symbol in bars:
            assert streamed.last_bar(symbol) == stored.last_bar(symbol)
            assert streamed.bars(symbol, "M5", keep) == stored.bars(symbol, "M5", keep)
            want = stored.bars(symbol, tf, keep)
            got = streamed.bars(symbol, tf, keep)  # asking for no more than the window
            assert got == want[len(want) - len(got) :]
            assert len(got) >= min(len(want), keep) - 1  # at most a partial first bucket


def test_streamed_feed_keeps_a_window_and_what_readers_ask_for() -> None:
    bars = generate_bars("BTCUSD", BUILTIN_START, 3000)
    source = CountingBars(bars)
    feed = ReplayFeed({"BTCUSD": source}, keep=100)
    for i, now in enumerate(feed.steps()):
        feed.advance(now)
        assert source.read <= i + 2  # one bar ahead of the clock, no more
        if i == 1000:
            break
    kept = feed.bars("BTCUSD", "M5", 10_000)
    assert 100 <= len(kept) <= 127
    assert list(kept) == bars[1001 - len(kept) : 1001]
    for _, now in zip(range(1000), feed.steps(), strict=False):
        feed.advance(now)
    kept = feed.bars("BTCUSD", "M5", 10_000)  # asked for more: nothing dropped since
    assert len(kept) >= 1100
    assert list(kept) == bars[2001 - len(kept) : 2001]
    with pytest.raises(TypeError, match="steps"):
        feed.timeline()


def test_streamed_series_out_of_order_is_refused_naming_the_symbol() -> None:
    bars = generate_bars("BTCUSD", BUILTIN_START, 5)
    feed = ReplayFeed({"BTCUSD": iter([bars[0], bars[2], bars[1]])})
    with pytest.raises(ValueError, match=r"BTCUSD: bar at .* is not after"):
        for now in feed.steps():
            feed.advance(now)


def test_only_a_feed_holding_the_whole_series_offers_it() -> None:
    """A replay's stored series is offered whole (DTMS computes ahead over it); a streamed
    one holds a window, so it answers None and a plugin takes its incremental path."""
    bars = generate_bars("BTCUSD", BUILTIN_START, 300)
    whole = ReplayFeed({"BTCUSD": bars}).series("BTCUSD", "M5")
    assert whole is not None and list(whole[0]) == bars
    assert ReplayFeed({"BTCUSD": iter(bars)}).series("BTCUSD", "M5") is None
