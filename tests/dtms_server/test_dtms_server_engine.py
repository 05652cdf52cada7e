"""The monitoring loop: it runs beside request handling, survives failing cycles, and
/health turns 503 when it stops, keeps failing or is stuck."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import ScriptedStrategy, dead_engine_client, registration, service_of

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
GUARD = aiohttp.ClientTimeout(total=20)  # a hang guard, not a timing assertion


def _strategy(client: Client) -> ScriptedStrategy:
    strategy = service_of(client).strategy
    assert isinstance(strategy, ScriptedStrategy)
    return strategy


async def _health(client: Client) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/health", timeout=GUARD)
    body = await resp.json()
    doc = document()
    schema = doc["paths"]["/health"]["get"]["responses"][str(resp.status)]
    assert errors(body, schema["content"]["application/json"]["schema"], doc) == []
    return resp.status, body


async def test_the_monitor_runs_at_start_and_calls_on_cycle_with_the_engine_clock(
    client: Client, world: Any
) -> None:
    strategy = _strategy(client)
    assert strategy.started
    assert strategy.cycles == [world.now()]
    world.step(3)
    await service_of(client).run_cycle()
    assert strategy.cycles[-1] == world.now()


async def test_the_loop_repeats_on_its_interval(make_client: Any) -> None:
    client: Client = await make_client(monitor_seconds=0.01)
    strategy = _strategy(client)
    for _ in range(500):
        if len(strategy.cycles) >= 3:
            break
        await asyncio.sleep(0.01)
    assert len(strategy.cycles) >= 3


async def test_a_failing_cycle_is_logged_and_the_loop_goes_on(client: Client) -> None:
    """One failed cycle is degraded at once (it defended nothing: a host's own /health
    says so after one too); the next cycle that passes makes it healthy again. It read
    200 until the third failure in a row."""
    strategy = _strategy(client)
    strategy.fail_cycles = 1
    await service_of(client).run_cycle()
    status, body = await _health(client)
    assert (status, body["status"]) == (503, "degraded")
    assert body["problems"] == ["the last cycle failed: RuntimeError: scripted failure"]
    assert body["monitor"]["failures"] == 1
    assert body["monitor"]["last_error"] == "RuntimeError: scripted failure"
    engine = (await (await client.get("/dtms/status")).json())["engine"]
    assert engine["healthy"] is False and engine["problems"] == body["problems"]
    await service_of(client).run_cycle()
    status, body = await _health(client)
    assert (status, body["status"]) == (200, "healthy")
    assert body["monitor"]["consecutive_failures"] == 0
    assert body["engine_running"] is True


async def test_health_is_503_after_repeated_failures_and_recovers(client: Client) -> None:
    strategy = _strategy(client)
    strategy.fail_cycles = 3
    for _ in range(3):
        await service_of(client).run_cycle()
    status, body = await _health(client)
    assert status == 503
    # the engine runs, its cycles fail: the original's "degraded"
    assert (body["status"], body["dtms_initialized"], body["dtms_available"]) == (
        "degraded",
        True,
        False,
    )
    assert "the last 3 cycles failed" in body["problems"][0]
    await service_of(client).run_cycle()
    assert (await _health(client))[0] == 200


async def test_health_is_503_when_the_monitor_task_died(make_client: Any) -> None:
    client: Client = await dead_engine_client(make_client)
    status, body = await _health(client)
    assert status == 503
    assert (body["engine_running"], body["status"]) == (False, "unhealthy")
    assert body["problems"] == ["died: ScriptedDeath: scripted death"]
    status_body = await (await client.get("/dtms/status")).json()
    assert status_body["engine"]["healthy"] is False
    assert status_body["dtms_status"]["system_active"] is False
    assert status_body["summary"] == "DTMS system is not available: the engine is not running"
    # nothing would watch a new trade: registration is refused, so the client retries
    resp = await client.post("/dtms/trade/enable", json=registration(7))
    assert resp.status == 503
    assert (await resp.json())["error"] == "service unavailable"
    assert (await client.get("/dtms/trade/7")).status == 404  # reads still answer


async def test_requests_are_answered_while_a_cycle_blocks_its_thread(
    make_client: Any,
) -> None:
    client: Client = await make_client(stall_seconds=0.0)
    assert (await client.post("/dtms/trade/enable", json=registration(7))).status == 201
    strategy = _strategy(client)
    release = threading.Event()
    strategy.block = release
    cycle = asyncio.ensure_future(service_of(client).run_cycle())
    try:
        assert await asyncio.to_thread(strategy.blocked.wait, 20)
        # the engine thread is stuck in a blocking call; the API still answers
        resp = await client.get("/dtms/trade/7", timeout=GUARD)
        assert resp.status == 200
        batch = await client.get("/dtms/trades?tickets=7", timeout=GUARD)
        assert batch.status == 200
        status, body = await _health(client)
        assert status == 503  # stall_seconds=0: any running cycle counts as stuck
        assert body["problems"][0].startswith("a cycle has been running")
    finally:
        release.set()
        await cycle
    assert (await _health(client))[0] == 200


async def test_shutdown_stops_the_engine_and_calls_strategy_shutdown(
    make_client: Any,
) -> None:
    client: Client = await make_client()
    service = service_of(client)
    strategy = _strategy(client)
    await client.close()
    assert strategy.stopped
    assert not service.engine.alive
    assert service._store is None
