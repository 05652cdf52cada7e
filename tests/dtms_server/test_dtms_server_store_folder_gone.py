"""``dtms serve``'s store folder deleted under the real local engine on a real server: the
engine thread's next write takes it back (the database it still has open copied there
whole, ``engine.lock`` claimed again) in one WARNING, and the server's own reads, which
share the store, answer from it; or, with another engine on the folder now (a real second
process), the cycles fail with the store's error, which ``/health`` names.

It used to answer 200 on everything while every write, the registration after the
deletion included, went into a file no longer in the folder, lost when it stopped.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, open_position, registration, service_of, wavy_path

from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.store.readonly import ReadOnlyStore

Client = TestClient[web.Request, web.Application]
TAKEN_BACK = "made again there, with everything the store held copied"
_OTHER_ENGINE = (
    "import sys\nfrom dtms_plugin.store import Store\n"
    "s = Store(sys.argv[1])\ns.claim_engine()\nprint('held', flush=True)\nsys.stdin.read()\n"
)


async def _started(make_client: Any) -> tuple[Client, Any, World, int]:
    world = World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    service = service_of(client)
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"))
    assert (await client.post("/dtms/trade/enable", json=body)).status == 201
    world.step()
    await service.run_cycle()
    return client, service, world, ticket


async def test_a_deleted_folder_is_taken_back_with_the_registrations_after_it(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, service, world, first = await _started(make_client)
    directory = Path(service.store.directory)
    shutil.rmtree(directory)
    with caplog.at_level(logging.WARNING):
        second = open_position(world)  # registered after the deletion
        body = registration(second, entry=world.price("XAUUSD"))
        assert (await client.post("/dtms/trade/enable", json=body)).status == 201
        for _ in range(2):
            world.step()
            await service.run_cycle()
        health = await client.get("/health")
        assert health.status == 200, await health.text()
        for ticket in (first, second):  # the server's reads: the store taken back
            reply = await client.get(f"/dtms/trade/{ticket}")
            assert reply.status == 200 and (await reply.json())["state"] == "HEALTHY"
    said = [r.message for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and TAKEN_BACK in said[0], said
    assert said[0].startswith(f"store {directory}: its folder was deleted or moved away")
    store = ReadOnlyStore(directory)
    try:
        assert set(store.records()) == {first, second}
        for ticket in (first, second):
            state = store.get_state(ticket)
            assert state is not None and state[0] == "HEALTHY"
    finally:
        store.close()


async def test_another_engine_on_the_folder_now_fails_the_cycles_and_health_says_it(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, service, world, _ = await _started(make_client)
    directory = Path(service.store.directory)
    shutil.rmtree(directory)
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_ENGINE, str(directory)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                world.step()
                await service.run_cycle()
            health = await client.get("/health")
            problems = (await health.json())["problems"]
    finally:
        other.communicate("", timeout=60)
    assert health.status == 503, problems
    (problem,) = problems
    assert problem.startswith(
        f"the last 3 cycles failed: StoreError: store {directory}: its folder was deleted or "
        f"moved away under this engine, and another DTMS engine (pid {other.pid}) holds the "
        "one there now"
    ), problem
    # once by the store, once by the monitor (its episode of failing cycles): not per cycle
    errors = [r.message for r in caplog.records if r.levelname == "ERROR"]
    assert [e.rsplit(" (said once", 1)[1] for e in errors] == [
        " until a write goes through)",
        " until a cycle succeeds)",
    ], errors
