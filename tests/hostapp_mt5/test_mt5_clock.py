"""The server's UTC offset comes from a tick seen to arrive, never from a stale one; it is
re-dated while running (a DST change); without a fresh tick start-up refuses to guess."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hostapp_mt5.mt5_helpers import connect
from support.fake_mt5 import FakeMT5

from hookspecs import BrokerError
from hostapp.brokers.mt5_market import Mt5Market


def _quiet(fake: FakeMT5, age: float) -> None:
    for s in fake.symbols.values():
        s.tick_age, s.live = age, False


@pytest.mark.parametrize("age", [50 * 60, 3 * 3600, 2 * 3600 + 5])
def test_stale_ticks_are_never_used_to_guess_the_offset(fake: FakeMT5, age: float) -> None:
    _quiet(fake, age)  # a daily break: the last ticks are old and nothing arrives
    with pytest.raises(BrokerError) as info:
        connect(fake)
    message = str(info.value)
    assert "\n" not in message and "set server_utc_offset_minutes in [host.mt5]" in message
    assert not fake.initialized  # the connection is shut again


def test_start_up_waits_at_most_the_probe_time(fake: FakeMT5) -> None:
    _quiet(fake, 3600)
    sleeps: list[float] = []
    with pytest.raises(BrokerError, match="within 4 s"):
        connect(fake, sleeps, offset_probe_seconds=4)
    assert sum(sleeps) == pytest.approx(4)  # (the helper clears them only on success)


def test_a_quiet_symbol_waits_for_the_one_that_ticks(fake: FakeMT5) -> None:
    fake.symbols["XAUUSD"].tick_age, fake.symbols["XAUUSD"].live = 50 * 60, False
    broker = connect(fake, time_symbols=("XAUUSD", "EURUSD"))
    assert broker.server_clock.offset_seconds == 7200


def test_dst_change_is_picked_up_while_running(fake: FakeMT5) -> None:
    fake.dst = (fake.now + timedelta(hours=1), 10800)  # the broker moves to summer time
    broker = connect(fake, time_symbols=("XAUUSD",), offset_recheck_minutes=30)
    assert broker.server_clock.offset_seconds == 7200
    fake.advance(2 * 3600)
    bar = (2000.0, 2001.0, 1999.0, 2000.5, 1, 30, 0)
    fake.rates[("XAUUSD", 5)] = [(fake.server_time(600), *bar), (fake.server_time(300), *bar)]
    Mt5Market(broker).bars("XAUUSD", "M5", 1)  # first use after the re-check is due
    fake.advance(5)
    (bar,) = Mt5Market(broker).bars("XAUUSD", "M5", 1)
    assert broker.server_clock.offset_seconds == 10800
    assert bar.time == fake.now - timedelta(seconds=605)


def test_a_configured_offset_is_kept(fake: FakeMT5) -> None:
    fake.dst = (fake.now + timedelta(hours=1), 10800)
    broker = connect(fake, server_utc_offset_minutes=120)
    fake.advance(2 * 3600)
    assert broker.quote("XAUUSD") is not None
    assert broker.server_clock.offset_seconds == 7200
