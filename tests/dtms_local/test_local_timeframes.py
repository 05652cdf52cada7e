"""DTMS behaves the same in bar terms on every timeframe: the same scripted adverse path,
laid out on M5, H1 and D1 bars, takes a buy down the ladder on the same bars, with its
signal bars built the way the host builds them (M15, H4, W1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.broker_double import BrokerDouble, HostDouble, ManualClock, MarketDouble
from support.dtms_kit import GOLD, T0, trade, trend_bars

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from dtms_plugin.settings_timeframes import for_host
from hookspecs import Bar, Timeframe
from hostapp.market.resample import resample

HISTORY = 2400  # fast bars of rising market before the entry: 342 weekly bars on D1
DOWN = -4.0  # per bar, from 30 bars before the entry: a market turning against a buy


def on_timeframe(bars: list[Bar], tf: Timeframe) -> list[Bar]:
    """The same prices, one bar per ``tf`` period (the M5 path re-timed)."""
    start = tf.bucket_start(T0) - tf.period * HISTORY
    return [
        Bar(start + tf.period * i, b.open, b.high, b.low, b.close, b.volume, b.spread)
        for i, b in enumerate(bars)
    ]


async def ladder(tmp_path: Path, name: str) -> list[tuple[int, str]]:
    """(fast bars since the entry, new state) of every transition over 40 bars."""
    tf = Timeframe.parse(name)
    fast = on_timeframe(trend_bars(T0, HISTORY + 60, HISTORY - 30, down=DOWN), tf)
    now = fast[HISTORY].time
    clock = ManualClock(now)
    market = MarketDouble(clock)
    market.set("XAUUSD", tf.value, fast)
    assert tf.signal is not None
    market.set("XAUUSD", tf.signal.value, resample(fast, tf.signal, base=tf))
    broker = BrokerDouble({"XAUUSD": GOLD}, clock)
    host = HostDouble(broker, market, clock, config={"state_dir": str(tmp_path)}, timeframe=name)
    settings = for_host(load_settings(host.config), name, name, "[plugin.dtms]")
    strategy = LocalStrategy(settings)
    await strategy.startup(host)

    def mid() -> None:
        closed = [b for b in fast if b.time + tf.period <= clock.now()]
        broker.mids["XAUUSD"] = closed[-1].close

    mid()
    entry = round(broker.mids["XAUUSD"], 2)
    t = broker.add(trade(ticket=1, entry=entry, sl=entry - 50.0, volume=1.0, opened_at=now))
    await strategy.on_trade_executed(host, t)
    steps: list[tuple[int, str]] = []
    for n in range(1, 41):
        clock.advance(tf.period)
        mid()
        before = len(host.state_changes)
        await strategy.on_cycle(host, clock.now())
        steps += [(n, new.value) for _, _, new, _ in host.state_changes[before:]]
    await strategy.shutdown(host)
    return steps


@pytest.mark.parametrize("name", ["M5", "H1", "D1"])
async def test_the_same_path_walks_the_ladder_on_the_same_bars(tmp_path: Path, name: str) -> None:
    m5 = (await ladder(tmp_path / "m5", "M5"))[:3]
    # armed at 3 fast bars, then one step per closed fast bar, as on M5 before
    assert m5 == [(3, "WARNING_L1"), (4, "WARNING_L2"), (5, "HEDGED")]
    assert (await ladder(tmp_path / name, name))[:3] == m5
