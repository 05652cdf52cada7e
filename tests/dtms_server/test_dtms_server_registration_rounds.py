"""Registrations that arrive while an engine round runs share the next one (group commit,
``dtms_plugin/server/rounds.py``), on a real server with the real local engine: each
request is answered as it was alone (its own outcome, in order: a repeat after its first
is "already registered", a conflicting one a 409), the broker's positions are read once
a round, not once a request, a round takes at most the API's batch maximum, and a store
failure in a round is every one of its requests' 503.

The round in progress is held where a slow broker holds it, in its read of the positions
(the first read waits for the test), while the other requests come; ``/metrics`` says when
they all wait (``dtms_registrations_waiting``) and how many rounds ran."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.dtms_server_world import World, open_position, registration, service_of, wavy_path
from support.full_disk import FULL, disk

from dtms_plugin.server.limits import MAX_BATCH_REGISTRATIONS
from dtms_plugin.server.service import default_strategy_factory
from hookspecs import BrokerError
from hostapp.testing import MemoryBroker

Client = TestClient[web.Request, web.Application]
SINGLES = 30


class HeldReads:
    """``broker.positions()`` counted, its first call held until :meth:`release` (a slow
    broker): the round reading them goes on while the test sends more requests."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.count = 0
        self.reading = threading.Event()
        self._go = threading.Event()
        read = broker.positions

        def positions() -> list[Any]:
            self.count += 1  # the engine thread alone calls it
            if self.count == 1:
                self.reading.set()
                self._go.wait(30)
            return read()

        broker.positions = positions  # type: ignore[method-assign]

    async def held(self) -> None:
        assert await asyncio.to_thread(self.reading.wait, 30), "no round read the positions"

    def release(self) -> None:
        self._go.set()


async def _served(make_client: Any) -> tuple[Client, World, Any]:
    world = World({"XAUUSD": wavy_path(2000.0, 1000)}, visible=1000)
    client: Client = await make_client(
        world=world, strategy_factory=default_strategy_factory, dashboard=True
    )
    service = service_of(client)
    for _ in range(2000):  # the start-up cycle done: the positions are the rounds' alone
        if service.monitor.cycles:
            break
        await asyncio.sleep(0.005)
    return client, world, service


async def _metrics(client: Client) -> dict[str, float]:
    text = await (await client.get("/metrics")).text()
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.labels or s.labels.get("le") == str(float(MAX_BATCH_REGISTRATIONS))
    }


async def _waiting(client: Client, count: int) -> None:
    """Until ``/metrics`` says ``count`` registrations wait for a round (a server that
    does not say it: after 3 s, and the rounds it ran are what the test checks)."""
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        if (await _metrics(client)).get("dtms_registrations_waiting") == count:
            return
        await asyncio.sleep(0.01)


def _post(client: Client, path: str, body: Any) -> asyncio.Task[tuple[int, Any]]:
    async def post() -> tuple[int, Any]:
        resp = await client.post(path, json=body)
        return resp.status, await resp.json()

    return asyncio.create_task(post())


async def test_single_registrations_that_come_together_share_a_round(make_client: Any) -> None:
    client, world, service = await _served(make_client)
    entry = world.price("XAUUSD")
    tickets = [open_position(world) for _ in range(SINGLES)]
    reads = HeldReads(world.broker)
    first = _post(client, "/dtms/trade/enable", registration(tickets[0], entry=entry))
    await reads.held()  # its round reads the positions meanwhile
    # the original's clients send volume 0: taken from the broker's positions, read once
    bodies = [
        registration(t, entry=entry, volume=0 if n % 2 else 1.0) for n, t in enumerate(tickets[1:])
    ]
    rest = [_post(client, "/dtms/trade/enable", body) for body in bodies]
    await _waiting(client, SINGLES - 1)
    # after their first registrations: a client's retry (its volume from the broker, in
    # a second pass of the round: the positions read for the first serve it), and a sell
    # of a live buy
    repeat = _post(client, "/dtms/trade/enable", registration(tickets[1], entry=entry, volume=0))
    await _waiting(client, SINGLES)
    conflict = _post(client, "/dtms/trade/enable", registration(tickets[2], direction="sell"))
    await _waiting(client, SINGLES + 1)
    reads.release()

    answers = await asyncio.gather(first, *rest)
    assert [status for status, _ in answers] == [201] * SINGLES, answers
    assert [a["ticket"] for _, a in answers] == tickets  # each its own
    assert all(a["state"] == "HEALTHY" and a["success"] for _, a in answers)
    assert {a["trade_info"]["volume"] for _, a in answers} == {1.0}  # from the broker too
    status, again = await repeat
    assert (status, again["already_registered"], again["ticket"]) == (200, True, tickets[1])
    status, refused = await conflict
    assert (status, refused["field"]) == (409, "direction"), refused
    assert sorted(service.strategy.records) == sorted(tickets)

    # two rounds (the first alone, all the rest together), one read of the positions each
    assert reads.count == 2 < SINGLES + 2
    said = await _metrics(client)
    assert said["dtms_registration_round_size_count"] == 2
    assert said["dtms_registration_round_size_sum"] == SINGLES + 2
    assert said["dtms_registrations_waiting"] == 0


async def test_a_round_takes_at_most_the_batch_maximum(make_client: Any) -> None:
    client, world, service = await _served(make_client)
    entry = world.price("XAUUSD")
    size = MAX_BATCH_REGISTRATIONS * 3 // 4
    tickets = [open_position(world) for _ in range(1 + 2 * size)]
    reads = HeldReads(world.broker)
    first = _post(client, "/dtms/trade/enable", registration(tickets[0], entry=entry))
    await reads.held()
    batches = []
    for at in (1, 1 + size):
        body = {"trades": [registration(t, entry=entry) for t in tickets[at : at + size]]}
        batches.append(_post(client, "/dtms/trades", body))
        await _waiting(client, at - 1 + size)  # the first batch before the second
    reads.release()

    assert (await first)[0] == 201
    for status, answer in await asyncio.gather(*batches):
        assert status == 200 and answer["counts"]["registered"] == size, answer
    # both batches waited, and did not fit in one round: one round each
    assert reads.count == 3
    said = await _metrics(client)
    assert said["dtms_registration_round_size_count"] == 3
    assert said["dtms_registration_round_size_bucket"] == 3  # none past the maximum
    assert len(service.strategy.records) == 1 + 2 * size


async def test_a_store_failure_in_a_round_is_each_of_its_requests_503(make_client: Any) -> None:
    client, world, service = await _served(make_client)
    entry = world.price("XAUUSD")
    tickets = [open_position(world) for _ in range(SINGLES)]
    bodies = [registration(t, entry=entry) for t in tickets]
    await disk(service, full=True)
    reads = HeldReads(world.broker)
    first = _post(client, "/dtms/trade/enable", bodies[0])
    await reads.held()
    rest = [_post(client, "/dtms/trade/enable", body) for body in bodies[1:]]
    await _waiting(client, SINGLES - 1)
    reads.release()

    where = str(service.store.directory)
    for status, answer in await asyncio.gather(first, *rest):
        assert (status, answer["error"]) == (503, "service unavailable"), answer
        assert (
            answer["message"].startswith(f"store {where}: writing ") and FULL in answer["message"]
        )
    assert reads.count == 2  # the first alone, then all the rest together
    assert (await _metrics(client))["dtms_registration_round_size_count"] == 2
    assert not service.strategy.records  # none defended from memory meanwhile
    for ticket in tickets:
        assert (await client.get(f"/dtms/trade/{ticket}")).status == 404

    await disk(service, full=False)  # the clients send them again: registered
    again = await asyncio.gather(*(_post(client, "/dtms/trade/enable", b) for b in bodies))
    assert [status for status, _ in again] == [201] * SINGLES


async def test_a_broker_that_cannot_say_fails_only_the_request_that_asked_it(
    make_client: Any,
) -> None:
    """The positions read of a round fails (a busy terminal): the registration whose
    volume was to come from them is its request's 503, as alone; a request of the same
    round that sent its volume is registered (201), not failed with it."""
    client, world, service = await _served(make_client)
    entry = world.price("XAUUSD")
    first_ticket, asks, sends = (open_position(world) for _ in range(3))
    reads = HeldReads(world.broker)
    held = world.broker.positions

    def busy_after_the_first() -> list[Any]:
        found = held()
        if reads.count > 1:
            raise BrokerError("terminal busy")
        return found

    world.broker.positions = busy_after_the_first  # type: ignore[method-assign]
    first = _post(client, "/dtms/trade/enable", registration(first_ticket, entry=entry))
    await reads.held()
    asking = _post(client, "/dtms/trade/enable", registration(asks, entry=entry, volume=0))
    sending = _post(client, "/dtms/trade/enable", registration(sends, entry=entry, volume=1.0))
    await _waiting(client, 2)
    reads.release()
    assert (await first)[0] == 201
    status, body = await asking
    assert status == 503 and "cannot read the positions from the broker" in str(body), body
    status, body = await sending
    assert (status, body["ticket"]) == (201, sends), body
    assert sends in service.strategy.records and asks not in service.strategy.records
    assert (await _metrics(client))["dtms_registration_round_size_count"] == 2  # one round
