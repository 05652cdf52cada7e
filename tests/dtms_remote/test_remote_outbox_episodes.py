"""An outbox pass of the remote strategy that fails every cycle (its store, a Redis, out of
reach) is said once for the episode and once more with the count when a pass goes
through; the host's ``/health`` (the strategy's ``health``) names it meanwhile. Each pass
was an ERROR line with a traceback, every cycle. A real redis-server, killed and started
again on its port, and a real fake DTMS server on loopback."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from support.dtms_kit import trade
from support.fake_dtms_server import HOST, FakeDtms
from support.redis_server import RedisServer, start_redis, stop_redis

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import StoreError


async def _cycle(strategy: RemoteStrategy) -> None:
    """One cycle, as the host runs it: a cycle that raises is the host's to say (once
    per episode, hostapp/failed_calls.py); then the sender's pass it woke."""
    with suppress(StoreError):
        await strategy.on_cycle(HOST, HOST.clock.now())
    await asyncio.sleep(0.05)


async def test_an_outbox_pass_failing_every_cycle_is_said_once_and_by_health(
    redis_server: RedisServer,
    fake: FakeDtms,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url, store=redis_server.url()))
    await strategy.on_trade_executed(HOST, trade(ticket=1))
    await _cycle(strategy)
    assert 1 in fake.registered
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    redis_server.process.send_signal(signal.SIGKILL)
    redis_server.process.wait(10)
    for _ in range(4):
        await _cycle(strategy)

    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(" (", 1)[0] for r in said] == ["DTMS outbox pass failed"]
    assert "StoreError: store redis://" in said[0].getMessage()
    assert said[0].exc_info is None  # the store's message says it all
    healthy, body = strategy.health()
    [problem] = body["problems"]
    assert not healthy and problem.startswith("the outbox cannot be sent: the last ")
    assert "passes failed: StoreError: store redis://" in problem

    again = start_redis(Path(redis_server.directory), port=redis_server.port)
    try:
        await _cycle(strategy)
        ended = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING][1:]
        assert len(ended) == 1 and ended[0].startswith(
            "DTMS outbox passes go through again, after "
        ), ended
        assert strategy.health() == (True, {**strategy.health()[1], "problems": []})
    finally:
        stop_redis(again.process)
