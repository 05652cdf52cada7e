"""The words of the trade-server watch, counted as a reader counts: one cycle is one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from hostapp.brokers.mt5_link import TradeServerWatch


def test_an_outage_of_one_cycle_is_one_cycle(caplog: pytest.LogCaptureFixture) -> None:
    """It read "after 13 s (1 cycles)"."""
    clock = [datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]
    watch = TradeServerWatch(lambda: clock[0])
    with caplog.at_level(logging.WARNING):
        watch.observe(False)
        assert watch.notes[-1].endswith("(1 cycle): orders could not reach the broker")
        clock[0] += timedelta(seconds=13)
        watch.observe(True)
    assert caplog.records[-1].getMessage().endswith("again, after 13 s (1 cycle)")
