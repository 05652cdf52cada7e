"""Builders for DTMS engine tests: trades, quotes, symbol rules, bars and snapshots.

``snapshot`` builds a real :class:`SignalSnapshot` from explicit features (so the real
score runs); ``scored`` presets the snapshot's cached score so that a state-machine test
can say "S = −4.5 with structure −1" without re-deriving six sub-scores each time (the
score itself is pinned separately)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dtms_plugin.engine import SIGNALS, Regime, ScoreBreakdown, SignalSnapshot, TradeRecord
from dtms_plugin.engine.regime import Session, Structure, Volatility
from dtms_plugin.engine.score import weights_for
from dtms_plugin.engine.snapshot import Gaps
from dtms_plugin.settings import DtmsSettings
from hookspecs import Bar, Direction, Quote, SymbolInfo, Trade

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday, London session
SETTINGS = DtmsSettings()
GOLD = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0)


def trade(
    ticket: int = 1,
    direction: Direction = "buy",
    volume: float = 1.0,
    entry: float = 2000.0,
    sl: float | None = 1990.0,
    opened_at: datetime = T0,
    symbol: str = "XAUUSD",
) -> Trade:
    return Trade(ticket, symbol, direction, volume, entry, sl, None, opened_at)


def quote(mid: float, spread: float = 0.2, at: datetime = T0, symbol: str = "XAUUSD") -> Quote:
    return Quote(symbol, round(mid - spread / 2, 5), round(mid + spread / 2, 5), at)


def regime(
    session: Session = Session.LONDON,
    vol: Volatility = Volatility.NORMAL,
    struct: Structure = Structure.TREND,
    vwap_threshold: float = 0.001,
    rsi_threshold: float = 45.0,
) -> Regime:
    return Regime(session, vol, struct, vwap_threshold, rsi_threshold)


def snapshot(
    bar_time: datetime = T0,
    *,
    close: float = 2000.0,
    bar: Bar | None = None,
    settings: DtmsSettings = SETTINGS,
    rg: Regime | None = None,
    **features: object,
) -> SignalSnapshot:
    """A snapshot whose newest fast bar opened at ``bar_time`` (so it closed 5 min later);
    every feature missing unless given."""
    rg = rg or regime()
    fast_bar = bar or Bar(bar_time, close, close, close, close, 1.0)
    values: dict[str, object] = dict(
        symbol="XAUUSD",
        settings=settings,
        fast_bar=fast_bar,
        fast_close_time=fast_bar.time + timedelta(minutes=5),
        fast_period=timedelta(minutes=5),
        signal_time=None,
        signal_close=None,
        atr=None,
        atr_ratio=None,
        rsi=None,
        rsi_prev=None,
        hist=(),
        ema_fast_slope=None,
        ema_slow_slope=None,
        bb_width=None,
        swing_high=None,
        swing_low=None,
        vwap=None,
        vwap_slope=None,
        vwap_above=0,
        vwap_below=0,
        atr_fast=None,
        median_spread=None,
        order_flow=None,
        regime=rg,
        weights=weights_for(rg, settings),
    )
    values.update(features)
    return SignalSnapshot(**values)  # type: ignore[arg-type]


def scored(
    total: float,
    bar_time: datetime = T0,
    *,
    structure: float = 0.0,
    confluence_against: bool = False,
    vwap_against: bool = False,
    direction: Direction = "buy",
    median_spread: float | None = None,
    gaps: Gaps | None = None,
) -> SignalSnapshot:
    """``gaps``: the indicators' memory of the bars fed (``missing_since``); without one
    the whole span since a bar counts as missing beyond one period."""
    snap = snapshot(bar_time, median_spread=median_spread, gaps=gaps)
    subs = (structure, 0.0, 0.0, 0.0, 0.0, 0.0)
    bd = ScoreBreakdown(
        total=total,
        subscores=subs,
        weights=snap.weights,
        missing=SIGNALS[1:],
        regime=snap.regime,
        confluence=1.0 if confluence_against else 0.0,
        confluence_against=confluence_against,
        vwap_slope_against=vwap_against,
    )
    snap._scores[direction] = bd
    return snap


def bars(
    n: int,
    start: datetime = T0,
    minutes: int = 5,
    price: float = 2000.0,
    seed: int = 7,
    spread: float = 0.2,
) -> list[Bar]:
    """A seeded random walk of ``n`` valid closed bars."""
    rnd = random.Random(seed)
    out: list[Bar] = []
    p = price
    for i in range(n):
        o = p
        c = max(1.0, o + rnd.gauss(0.0, 1.0))
        h = max(o, c) + abs(rnd.gauss(0.0, 0.4))
        lo = min(o, c) - abs(rnd.gauss(0.0, 0.4))
        out.append(
            Bar(
                start + timedelta(minutes=minutes * i), o, h, lo, c, 50 + rnd.random() * 100, spread
            )
        )
        p = c
    return out


def aggregate(fast: list[Bar], factor: int = 3) -> list[Bar]:
    """Signal-timeframe bars built from complete groups of ``factor`` fast bars."""
    out = []
    for i in range(0, len(fast) - factor + 1, factor):
        g = fast[i : i + factor]
        out.append(
            Bar(
                g[0].time,
                g[0].open,
                max(b.high for b in g),
                min(b.low for b in g),
                g[-1].close,
                sum(b.volume for b in g),
            )
        )
    return out


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def armed(rec: TradeRecord) -> TradeRecord:
    from dataclasses import replace

    return replace(rec, armed=True)


def ticks(start: datetime, step_minutes: float, count: int) -> Iterator[datetime]:
    for i in range(count):
        yield start + timedelta(minutes=step_minutes * i)


def trend_bars(
    start: datetime,
    count: int,
    turn: int,
    price: float = 2000.0,
    up: float = 0.2,
    down: float = -1.0,
) -> list[Bar]:
    """M5 bars rising gently with a 24-bar wave, then falling from bar ``turn`` on:
    a market that puts a buy under pressure step by step (swing lows, RSI, EMAs)."""
    import math

    out: list[Bar] = []
    prev = price
    level = price
    for i in range(count):
        level += up if i < turn else down
        close = level + 4.0 * math.sin(i * 2 * math.pi / 24)
        hi, lo = max(prev, close) + 0.3, min(prev, close) - 0.3
        out.append(Bar(start + timedelta(minutes=5 * i), prev, hi, lo, close, 100.0, 0.2))
        prev = close
    return out


def all_stops(value: Any) -> list[float]:
    """Every ``stop_loss`` anywhere in ``value`` (a record, its journal, history rows, an
    export), depth first: what a plugin that edited an action's params would have put
    into DTMS's state."""
    if isinstance(value, dict):
        own = [value["stop_loss"]] if isinstance(value.get("stop_loss"), float) else []
        return own + [s for v in value.values() for s in all_stops(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_stops(v)]
    return []
