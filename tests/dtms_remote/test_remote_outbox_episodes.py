"""The remote strategy's store (a Redis) out of reach is an episode (dtms_plugin/
remote_store.py): said once, and once more with the count when it answers again; the
host's ``/health`` (the strategy's ``health``) names it meanwhile. Each outbox pass was an
ERROR line with a traceback, every cycle; then each cycle raised into the host, whose
breaker switched DTMS off for five minutes over a 30 s outage, its fail-safe reading every
trade as defensive and vetoing every order, and the log said that registrations "wait in
the outbox", the very thing out of reach. A real redis-server, killed and started again
on its port, and a real fake DTMS server on loopback."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.dtms_kit import trade
from support.fake_dtms_server import HOST, FakeDtms
from support.redis_server import RedisServer, start_redis, stop_redis

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from hookspecs import OrderRequest


async def _cycle(strategy: RemoteStrategy) -> None:
    """One cycle, as the host runs it (it must not raise), then the sender's pass it woke."""
    await strategy.on_cycle(HOST, HOST.clock.now())
    await asyncio.sleep(0.05)


async def test_a_store_out_of_reach_is_one_episode_and_loses_nothing(
    redis_server: RedisServer,
    fake: FakeDtms,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url, store=redis_server.url()))
    fake.states[1] = "HEDGED"
    await strategy.on_trade_executed(HOST, trade(ticket=1))
    await _cycle(strategy)
    await _cycle(strategy)  # refreshed: HEDGED
    assert 1 in fake.registered and strategy.is_defensive(HOST, 1)
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    redis_server.process.send_signal(signal.SIGKILL)
    redis_server.process.wait(10)
    for _ in range(6):  # the host's breaker trips after five failures in a row
        await _cycle(strategy)
    await strategy.on_trade_executed(HOST, trade(ticket=2))  # the store refuses it
    await _cycle(strategy)
    assert 2 in fake.registered  # sent from memory
    assert strategy.is_defensive(HOST, 1)  # as last learned (docs/dtms.md §9), no fail-safe
    assert not strategy.is_defensive(HOST, 2)
    assert strategy.allow_order(HOST, OrderRequest("EURUSD", "buy", 0.1)) is None

    said = [r for r in _said(caplog) if not r.getMessage().startswith("store ")]  # the store's
    assert [r.getMessage().split(" (", 1)[0] for r in said] == [
        f"DTMS store {redis_server.url()} out of reach"
    ], [r.getMessage() for r in said]
    assert said[0].exc_info is None and "wait in the outbox" not in caplog.text
    healthy, body = strategy.health()
    [problem] = body["problems"]
    assert not healthy and problem.startswith("the DTMS store is out of reach (")

    fake.fail("batch", 1000, status=503)  # the server takes nothing for a while
    fake.fail("enable", 1000, status=503)
    await strategy.on_trade_executed(HOST, trade(ticket=3))  # kept in memory
    await _cycle(strategy)
    again = start_redis(Path(redis_server.directory), port=redis_server.port)
    try:
        await _cycle(strategy)
        await _cycle(strategy)
        ended = [r.getMessage() for r in _said(caplog)][1:]
        assert [e for e in ended if e.startswith("DTMS store ")] == [
            next(e for e in ended if e.startswith(f"DTMS store {redis_server.url()} answers again"))
        ], ended
        assert [t for t, _ in strategy.store.outbox_items()] == [3]  # stored once back
        assert strategy._store_down.problems() == []
    finally:
        stop_redis(again.process)


def _said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]
