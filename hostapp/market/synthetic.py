"""A seeded synthetic bar generator: trends, ranges and shocks, per symbol.

The paper host needs data that exercises a defensive trade manager: long trends to ride,
ranges that chop stops, and sudden shocks (gaps, wide bars, wide spreads) that should push
trades into defence. A plain random walk has none of that structure, so the generator
switches between three phases, each with its own drift, volatility and spread.

Spot FX and metals do not trade from Friday 22:00 to Sunday 22:00 UTC, so their series
have no bars then, and Monday opens with a gap from Friday's close, as a broker's feed
does; a profile marked ``weekends`` (bitcoin) trades around the clock.

Everything is drawn from one ``random.Random`` seeded with ``"<symbol>:<seed>"`` (string
seeding is stable across runs and Python processes, unlike ``hash``), so the same symbol,
start, count, timeframe and seed always give the same bars. The weekend gaps come from a
second stream, so a series' bar-to-bar moves do not depend on where its weekends fall.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from hookspecs import Bar, Timeframe

from .timeframes import from_epoch, to_epoch


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """How one symbol moves. Prices in price units; ``m5_range`` is a typical M5 high-low.

    ``floor``/``ceiling`` are soft bounds: outside them a pull back towards the band is
    added, so a long replay stays in a realistic band (a shock may briefly overshoot).
    ``weekends``: the market trades Saturday and Sunday too (crypto), instead of closing
    from Friday 22:00 to Sunday 22:00 UTC like spot FX and metals.
    """

    start: float
    floor: float
    ceiling: float
    digits: int
    m5_range: float
    spread: float
    volume: float
    weekends: bool = False


SYMBOL_PROFILES: dict[str, SymbolProfile] = {
    "XAUUSD": SymbolProfile(2150.0, 2000.0, 2400.0, 2, 3.0, 0.25, 1800.0),
    "EURUSD": SymbolProfile(1.0850, 1.05, 1.12, 5, 0.0006, 0.00008, 900.0),
    "GBPUSD": SymbolProfile(1.2700, 1.22, 1.32, 5, 0.0008, 0.00012, 800.0),
    "USDJPY": SymbolProfile(150.00, 140.0, 160.0, 3, 0.08, 0.012, 1000.0),
    "BTCUSD": SymbolProfile(60000.0, 40000.0, 75000.0, 2, 150.0, 15.0, 400.0, weekends=True),
}

#: Used for any symbol without a profile: a 100-ish instrument with modest moves.
GENERIC_PROFILE = SymbolProfile(100.0, 80.0, 120.0, 2, 0.15, 0.02, 500.0)


def profile_for(symbol: str) -> SymbolProfile:
    return SYMBOL_PROFILES.get(symbol.upper(), GENERIC_PROFILE)


@dataclass(slots=True)
class _Phase:
    kind: str  # "trend" | "range" | "shock"
    bars_left: int
    drift: float  # per bar, in units of sigma
    vol: float  # volatility multiplier
    centre: float  # range phases revert towards it
    spread_mult: float
    jump: float  # shock: a price jump applied at the phase's first bar (gap at the open)


def _next_phase(rng: random.Random, previous: str, price: float, p: SymbolProfile) -> _Phase:
    """Markov switch: shocks are rare and never follow a shock; trends and ranges alternate
    at random. Trend direction leans back into the band when the price is near its edge."""
    if previous != "shock" and rng.random() < 0.12:
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return _Phase(
            "shock",
            rng.randint(1, 6),
            drift=sign * rng.uniform(0.5, 1.5),
            vol=rng.uniform(3.0, 6.0),
            centre=price,
            spread_mult=rng.uniform(2.5, 5.0),
            jump=sign * rng.uniform(5.0, 12.0),
        )
    if rng.random() < 0.5:
        position = (price - p.floor) / (p.ceiling - p.floor)  # 0 at the floor, 1 at the top
        up = rng.random() > position
        return _Phase(
            "trend",
            rng.randint(60, 400),
            drift=(1.0 if up else -1.0) * rng.uniform(0.12, 0.35),
            vol=rng.uniform(0.9, 1.3),
            centre=price,
            spread_mult=1.0,
            jump=0.0,
        )
    return _Phase(
        "range",
        rng.randint(60, 400),
        drift=0.0,
        vol=rng.uniform(0.5, 0.85),
        centre=price,
        spread_mult=1.0,
        jump=0.0,
    )


def generate_bars(
    symbol: str,
    start: datetime,
    count: int,
    *,
    timeframe: str = "M5",
    seed: int = 0,
    skip_weekends: bool | None = None,
) -> list[Bar]:
    """``count`` bars of ``symbol`` from ``start`` (rounded up to the timeframe).

    ``skip_weekends`` leaves out bars opening from Friday 22:00 to Sunday 22:00 UTC, like
    a forex feed, and opens the week with a gap; by default (``None``) the symbol's market
    decides: closed at the weekend unless its profile trades then. ``count`` is bars made,
    whatever time they span; weekly and longer bars are never left out.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    bars = iter_bars(symbol, start, timeframe=timeframe, seed=seed, skip_weekends=skip_weekends)
    return list(islice(bars, count))


def iter_bars(
    symbol: str,
    start: datetime,
    *,
    timeframe: str = "M5",
    seed: int = 0,
    skip_weekends: bool | None = None,
) -> Iterator[Bar]:
    """The bars :func:`generate_bars` makes, one at a time and without end: a feed of
    any length costs the memory of one bar. The same arguments give the same bars."""
    if start.tzinfo is None or start.utcoffset() != timedelta(0):
        raise ValueError(f"start must be a UTC datetime, got {start!r}")
    tf = Timeframe.parse(timeframe)
    period = tf.seconds  # MN1: a nominal 30 days, for the size of a bar's moves
    p = profile_for(symbol)
    rng = random.Random(f"{symbol.upper()}:{seed}")
    scale = math.sqrt(period / 300.0)
    sigma = p.m5_range / 1.6 * scale  # close-to-close sd; E[range] of a walk is ~1.6 sd
    vol_per_bar = p.volume * period / 300.0
    t = tf.bucket_epoch(to_epoch(start))
    if t < to_epoch(start):
        t = tf.next_epoch(t)  # weeks open on Sunday and months on the 1st, as MetaTrader's
    price = p.start
    phase = _next_phase(rng, "", price, p)
    first_of_phase = True
    closes = (not p.weekends if skip_weekends is None else skip_weekends) and period < _WEEK
    weekend_rng = random.Random(f"{symbol.upper()}:{seed}:weekend")
    weekend_gap = 0.0
    made_any = False
    while True:
        if closes and _weekend(t):
            t = -(-_weekend_end(t) // period) * period
            if made_any:  # the market reopens away from Friday's close
                weekend_gap = weekend_rng.gauss(0.0, 3.0 * p.m5_range / 1.6)
            continue
        if phase.bars_left <= 0:
            phase = _next_phase(rng, phase.kind, price, p)
            first_of_phase = True
        phase.bars_left -= 1
        s = sigma * phase.vol
        open_ = price
        if first_of_phase and phase.jump:
            open_ = price + phase.jump * sigma * 0.6  # most of the jump gaps at the open
        first_of_phase = False
        open_ += weekend_gap
        weekend_gap = 0.0
        drift = phase.drift * sigma
        if phase.kind == "range":
            drift += (phase.centre - open_) * 0.05
        if open_ > p.ceiling:
            drift -= (open_ - p.ceiling) * 0.02 + 0.2 * sigma
        elif open_ < p.floor:
            drift += (p.floor - open_) * 0.02 + 0.2 * sigma
        close = open_ + drift + rng.gauss(0.0, s)
        open_r = round(max(open_, p.floor * 0.5), p.digits)
        close_r = round(max(close, p.floor * 0.5), p.digits)
        high = round(max(open_r, close_r) + abs(rng.gauss(0.0, 0.45 * s)), p.digits)
        low = round(min(open_r, close_r) - abs(rng.gauss(0.0, 0.45 * s)), p.digits)
        spread = round(p.spread * phase.spread_mult * rng.uniform(0.8, 1.3), p.digits)
        volume = float(max(1, round(vol_per_bar * phase.vol * rng.lognormvariate(0.0, 0.3))))
        yield Bar(from_epoch(t), open_r, high, low, close_r, volume, spread)
        made_any = True
        price = close_r
        t = t + period if tf.fixed else tf.next_epoch(t)


_DAY = 86_400
_WEEK = 7 * _DAY


def _weekend(epoch_seconds: int) -> bool:
    """Friday 22:00 to Sunday 22:00 UTC, when spot FX and metals do not trade."""
    day = (epoch_seconds // 86400 + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    hour = epoch_seconds % 86400 / 3600
    return (day == 4 and hour >= 22) or day == 5 or (day == 6 and hour < 22)


def _weekend_end(epoch_seconds: int) -> int:
    """Sunday 22:00 UTC closing the weekend that holds ``epoch_seconds``."""
    day = (epoch_seconds // _DAY + 3) % 7  # 0 = Monday
    midnight = epoch_seconds - epoch_seconds % _DAY
    return midnight + (6 - day) * _DAY + 22 * 3600


class SyntheticSeries:
    """The synthetic bars of one symbol from ``start`` until ``end``, made as they are read.

    Iterable any number of times (each pass starts over and gives the same bars), so a
    feed that replays anew or a second run costs nothing up front and one bar of memory
    per pass, whatever the span: a live host or server over years of data starts as fast
    as over a day. A bar is in the series when it has closed by ``end``.
    """

    __slots__ = ("end", "seed", "start", "symbol", "timeframe")

    def __init__(
        self, symbol: str, start: datetime, end: datetime, *, timeframe: str = "M5", seed: int = 0
    ) -> None:
        Timeframe.parse(timeframe)  # a bad name fails here, not at the first read
        self.symbol, self.start, self.end = symbol, start, end
        self.timeframe, self.seed = timeframe, seed

    def __iter__(self) -> Iterator[Bar]:
        period = timedelta(seconds=Timeframe.parse(self.timeframe).seconds)
        last_open = self.end - period
        for bar in iter_bars(self.symbol, self.start, timeframe=self.timeframe, seed=self.seed):
            if bar.time > last_open:
                return
            yield bar

    def head(self, count: int) -> list[Bar]:
        """The first ``count`` bars (fewer when the series is shorter)."""
        return list(islice(self, count))
