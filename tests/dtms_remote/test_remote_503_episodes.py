"""A DTMS server that answers but cannot serve (its store is away: 503 on every call) is
a problem that repeats on every cycle: the host says it once when it starts and once,
with the count, when it ends, whichever call met it (a refresh, a registration, a close),
not once a cycle (dtms_plugin/remote_health.py). On a real loopback server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from support.fake_dtms_server import HOST, Clock, FakeDtms, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from hookspecs.events import FOR_TERMINAL

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]
STORE_AWAY = "store redis://127.0.0.1:6390/0: reading trade:49 failed: Connection refused"


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What reached WARNING or above: what a user sees on the console."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def _cycles(strategy: RemoteStrategy, clock: Clock, n: int) -> None:
    for _ in range(n):
        clock.advance(1)
        await strategy.on_cycle(HOST, clock())
        await strategy.drain()


async def test_a_refresh_answered_503_every_cycle_is_one_episode(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await strategy.on_trade_executed(HOST, trade(49))
    await strategy.drain()
    await _cycles(strategy, clock, 1)
    assert _said(caplog) == []
    fake.fail("trades", 19, 503, STORE_AWAY)
    await _cycles(strategy, clock, 19)
    (line,) = _said(caplog)
    assert "refresh of ticket 49: GET " in line and f"answered 503: {STORE_AWAY}" in line
    await _cycles(strategy, clock, 1)
    assert _said(caplog)[0] == line
    end = _said(caplog)[1]
    assert len(_said(caplog)) == 2 and "answers again, after 19 failed tries" in end
    assert strategy.report()["server_episodes"] == 1
    # the end goes where the beginning was read: a run's terminal gets it too
    (back,) = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert getattr(back, FOR_TERMINAL, False) is True


async def test_a_close_answered_503_every_pass_is_said_once_and_when_delivered(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """The server takes this host's refreshes but not its close (a replica that cannot
    take it now): the close's trouble is said once, and once more when it is delivered."""
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await strategy.on_trade_executed(HOST, trade(49))
    await strategy.on_trade_executed(HOST, trade(50))
    await strategy.drain()
    fake.fail("closed", 4 * 5, 503, STORE_AWAY)  # five passes of four attempts
    closed = trade(49)
    await strategy.on_trade_closed(HOST, closed, "stop_loss")
    await strategy.drain()
    for _ in range(20):  # each cycle is a pass or two: until the faults are spent
        await _cycles(strategy, clock, 1)
        if fake.closed:
            break
    assert fake.closed.keys() == {49} and fake.hits["closed"] == 4 * 5 + 1
    first, gave_up, end = _said(caplog)  # not one pair per pass
    assert "closed of ticket 49" in first and f"answered 503 (attempt 1/4): {STORE_AWAY}" in first
    assert "failed after 4 attempts" in gave_up and "said again when it is delivered" in gave_up
    assert end == "DTMS closed of ticket 49 delivered, after 5 passes the server did not take it"
    assert strategy.store.outbox_len() == 0
    assert not strategy._health.down  # the server answered all along


async def test_a_close_the_server_has_no_record_of_is_final_but_said_and_counted(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarted empty under the server while a close waited: the close then meets
    a 404. Sending it again changes nothing, but it is no success: the close is kept
    nowhere on the server, which the log and the run's report say."""
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    await strategy.on_trade_executed(HOST, trade(49))
    await strategy.drain()
    fake.fail("closed", 3, 503, STORE_AWAY)
    del fake.registered[49]  # the server's store came back empty
    await strategy.on_trade_closed(HOST, trade(49), "stop_loss")
    await strategy.drain()
    assert fake.hits["closed"] == 4 and strategy.store.outbox_len() == 0  # final
    messages = [r.getMessage() for r in caplog.records]
    assert not any("succeeded" in m for m in messages), messages
    (said,) = [m for m in _said(caplog) if "no record" in m]
    assert said.startswith("DTMS closed of ticket 49: ") and "answered 404" in said
    await _cycles(strategy, clock, 2)
    assert fake.hits["closed"] == 4  # not sent again
    report = strategy.report()
    assert report["closes_unknown_to_server"] == 1
    assert (
        "1 closes reported for trades the server had no record of (tickets 49)" in (report["note"])
    )


async def test_registrations_answered_503_every_pass_are_one_episode(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(fake.url), clock=clock)
    fake.fail("batch", 4 * 6, 503, STORE_AWAY)  # six passes of four attempts
    for ticket in (49, 50):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    for _ in range(20):
        await _cycles(strategy, clock, 1)
        if fake.enable_ok:
            break
    assert set(fake.enable_ok) == {49, 50}
    first, start, end = _said(caplog)
    assert "registration of tickets 49, 50: " in first and "answered 503 (attempt 1/4)" in first
    assert "is not answering (2 outbox entries kept for the next cycle)" in start
    assert "answers again, after 6 failed tries" in end


async def test_a_wrong_api_url_path_keeps_closes_and_registrations(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """``api_url`` with a path the server does not have (a proxy's ``/api`` prefix): its
    404 is no "trade not found", so a close is kept for when the URL is right, not given
    up as a close the server has no record of."""
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(f"{fake.url}/api"), clock=clock)
    await strategy.on_trade_executed(HOST, trade(49))
    await strategy.on_trade_closed(HOST, trade(49), "stop_loss")
    await strategy.drain()
    await _cycles(strategy, clock, 2)
    # one entry: the close of a trade never registered carries its registration
    assert strategy.store.outbox_len() == 1 and fake.closed == {}
    assert strategy.report().get("closes_unknown_to_server", 0) == 0
    said = " ".join(_said(caplog))
    assert "check api_url" in said and "no record" not in said
