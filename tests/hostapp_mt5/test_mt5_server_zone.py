"""``[host.mt5] server_timezone``: a trade server's clock named as a time zone reads every
time with the offset of its own date. An offset alone (configured, or dated from a tick)
is right for the server's current summer or winter only: a bar or a position from before
the broker's last switch to summer time came out an hour off, so an M5 series showed a
65-minute gap across the weekend and a trade's age, which DTMS arms on, moved."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake

from hookspecs import OrderRequest
from hostapp.brokers.mt5 import Mt5Settings
from hostapp.brokers.mt5_market import Mt5Market

#: the "New York close" clock of many brokers: UTC+2 in winter, UTC+3 in summer, switching
#: on the US's dates (2026-03-08, 2 a.m. in New York, 07:00 UTC)
NY_CLOSE = "America/New_York+7"
SWITCH = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def _wall(*when: int) -> int:
    """A time as the server writes it: its wall clock's reading in epoch seconds."""
    return int(datetime(*when, tzinfo=UTC).timestamp())  # type: ignore[misc]


def _bar(server_time: int) -> tuple[int, float, float, float, float, int, int, int]:
    return (server_time, 1.085, 1.086, 1.084, 1.0855, 10, 12, 0)


@pytest.mark.parametrize("zone", [NY_CLOSE, ""], ids=["zone", "offset alone"])
def test_bars_from_before_the_switch_to_summer_time_read_with_their_own_offset(
    zone: str,
) -> None:
    fake = make_fake(now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC), server_offset=10800)
    fake.rates[("EURUSD", 5)] = [
        _bar(_wall(2026, 3, 6, 23, 50)),  # Friday's last bars, written in winter (UTC+2)
        _bar(_wall(2026, 3, 6, 23, 55)),
        _bar(_wall(2026, 3, 9, 12, 50)),  # Monday's, in summer (UTC+3)
        _bar(_wall(2026, 3, 9, 12, 55)),  # still forming
    ]
    broker = connect(fake, server_timezone=zone, time_symbols=("EURUSD",))
    times = [b.time for b in Mt5Market(broker).bars("EURUSD", "M5", 3)]
    friday = datetime(2026, 3, 6, 21, 50, tzinfo=UTC)
    if zone:
        assert times == [
            friday,
            friday + timedelta(minutes=5),
            datetime(2026, 3, 9, 9, 50, tzinfo=UTC),
        ]
    else:  # the limit the zone lifts (docs/mt5.md, "Times are UTC")
        assert times[0] == friday - timedelta(hours=1)


def test_a_position_opened_before_the_switch_keeps_its_open_time_after_it() -> None:
    fake = make_fake(
        now=datetime(2026, 3, 6, 20, 0, tzinfo=UTC), server_offset=7200, dst=(SWITCH, 10800)
    )
    broker = connect(fake, server_timezone=NY_CLOSE, time_symbols=("XAUUSD",))
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert opened.ok, opened
    fake.advance((datetime(2026, 3, 9, 10, 0, tzinfo=UTC) - fake.now).total_seconds())
    (position,) = broker.positions()
    assert abs(position.opened_at - datetime(2026, 3, 6, 20, 0, tzinfo=UTC)) < timedelta(minutes=1)


def test_a_zone_a_fresh_tick_contradicts_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    fake = make_fake(server_offset=10800)  # UTC+3 on 2 March: not New York close's winter
    with caplog.at_level(logging.WARNING):
        broker = connect(fake, server_timezone=NY_CLOSE, time_symbols=("XAUUSD",))
        for _ in range(3):
            fake.advance(1)
            broker.quote("XAUUSD")
    said = [r.getMessage() for r in caplog.records if "server_timezone" in r.getMessage()]
    assert said == [
        '[host.mt5] server_timezone = "America/New_York+7" (+120 minutes from UTC now) looks'
        " wrong: XAUUSD's last tick, read with it, is 60 minutes in the future, so the"
        " server's clock is at least +180 minutes from UTC; every time read from the terminal"
        " is off by as much: set the server's zone (its clock is +180 minutes from UTC now),"
        " or leave the key out to have it detected"
    ]


def test_a_right_zone_says_nothing_and_dates_orders_on_the_server_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = make_fake()  # UTC+2 on 2 March: New York close's winter
    with caplog.at_level(logging.WARNING):
        broker = connect(fake, server_timezone=NY_CLOSE, time_symbols=("XAUUSD",))
        for _ in range(3):
            fake.advance(1)
            broker.quote("XAUUSD")
        assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert [r.getMessage() for r in caplog.records] == []
    assert broker._server_now() == fake.server_time()


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ({"server_timezone": "Mars/Olympus"}, "server_timezone: unknown time zone 'Mars/Olympus'"),
        (
            {"server_timezone": NY_CLOSE, "server_utc_offset_minutes": 120},
            "server_timezone: set it or server_utc_offset_minutes, not both",
        ),
    ],
)
def test_a_bad_server_timezone_is_an_error_naming_the_key(
    table: dict[str, object], said: str
) -> None:
    with pytest.raises(ValueError, match=said):
        Mt5Settings(**table)  # type: ignore[arg-type]
