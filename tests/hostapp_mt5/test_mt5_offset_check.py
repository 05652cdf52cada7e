"""A configured ``server_utc_offset_minutes`` is used as it is, never re-checked; one a
tick proves wrong is said once (the probe's 0 on a UTC+3 server shifted every time by
three hours, and DTMS never armed its trade, without a word)."""

from __future__ import annotations

import logging

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "server_utc_offset_minutes" in r.getMessage()]


def test_an_offset_that_puts_ticks_in_the_future_is_said_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = make_fake(server_offset=10800)
    with caplog.at_level(logging.WARNING):
        broker = connect(fake, server_utc_offset_minutes=0, time_symbols=("XAUUSD",))
        for _ in range(3):
            fake.advance(1)
            broker.quote("XAUUSD")
    assert _said(caplog) == [
        "[host.mt5] server_utc_offset_minutes = 0 looks wrong: XAUUSD's last tick, read with "
        "it, is 180 minutes in the future, so the server's clock is at least +180 minutes "
        "from UTC; every time read from the terminal is off by as much: set 180, or leave "
        "the key out to have it detected"
    ]


def test_an_offset_a_fresh_tick_contradicts_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Too large: the ticks look old, not impossible, until one is seen to change."""
    fake = make_fake()  # UTC+2
    with caplog.at_level(logging.WARNING):
        broker = connect(fake, server_utc_offset_minutes=180, time_symbols=("XAUUSD",))
        assert _said(caplog) == []
        for _ in range(3):
            fake.advance(1)
            broker.quote("XAUUSD")
    assert _said(caplog) == [
        "[host.mt5] server_utc_offset_minutes = 180, but a fresh tick dates the server's "
        "clock at +120 minutes from UTC: every time read from the terminal is off by -60 "
        "minutes; set 120, or leave the key out to have it detected (and re-checked, as at "
        "summer time)"
    ]


def test_a_right_offset_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    fake = make_fake()
    with caplog.at_level(logging.WARNING):
        broker = connect(fake, server_utc_offset_minutes=120, time_symbols=("XAUUSD",))
        for _ in range(3):
            fake.advance(1)
            broker.quote("XAUUSD")
    assert _said(caplog) == []
