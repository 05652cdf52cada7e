"""A receiver that fails every message is said once per episode, with a count: the first
message it did not take in full (why, and that the next ones are counted), the episode's
end with how many there were, over how long, and the last reason; at shutdown one line
with the counts, the messages dropped there and an episode still going on. A receiver
that is down used to give one ERROR per message, each on the terminal too."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from examples_webhook.test_notify_webhook import Factory, Receiver, notifier, start

from hookspecs import DefensiveState, events


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "notify_webhook"]


def _for_terminal(record: logging.LogRecord) -> bool:
    return getattr(record, events.FOR_TERMINAL, False) is True


def _post(host: Any, plugin: Any, tickets: range) -> None:
    for ticket in tickets:
        plugin.on_state_change(host, ticket, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")


async def test_a_receiver_that_is_down_is_said_once_with_a_count(
    hostapp_factory: Factory, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = f"http://127.0.0.1:{unused_tcp_port}/api/webhooks/1/tok-9c1f"
    host, plugin = notifier(hostapp_factory, url)
    await plugin.startup(host)
    _post(host, plugin, range(1, 11))
    await plugin.shutdown(host)  # each message tried 4 times (waits on the test's clock)
    assert plugin.run_report()["failed"] == 10
    (first, final) = _lines(caplog)
    assert first[0] == logging.ERROR
    assert first[1].startswith(
        f"notify_webhook: state_change for ticket 1 not delivered to the webhook at "
        f"http://127.0.0.1:{unused_tcp_port}/***: ClientConnectorError"
    )
    assert first[1].endswith("(the next ones that fail are counted until one goes through)")
    assert final[0] == logging.WARNING
    assert final[1].startswith(
        "notify_webhook: 0 messages sent, 10 failed, 0 dropped; 10 messages not delivered to "
        f"the webhook at http://127.0.0.1:{unused_tcp_port}/*** over 63 s (the last: "
        "ClientConnectorError"
    ), final[1]
    assert "tok-9c1f" not in caplog.text


async def test_the_end_of_an_episode_says_how_many_were_not_delivered(
    aiohttp_server: Any, hostapp_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rx = Receiver([503, 400, 503])  # three refused, then the receiver takes them again
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx), retries=0)
    await plugin.startup(host)
    _post(host, plugin, range(1, 6))
    await plugin.shutdown(host)
    assert [b["event"]["ticket"] for b in rx.bodies] == [4, 5]
    levels, texts = zip(*_lines(caplog), strict=True)
    # the episode's end and the final counts (3 lost) for the terminal, as its ERROR was
    assert levels == (logging.ERROR, logging.WARNING, logging.WARNING), texts
    assert "ticket 1" in texts[0] and "answered 503" in texts[0]
    assert texts[1].startswith("notify_webhook: 3 messages not delivered to the webhook at ")
    assert texts[1].endswith("(the last: answered 503); it took a message again")
    assert texts[2] == "notify_webhook: 2 messages sent, 3 failed, 0 dropped"
    assert [_for_terminal(r) for r in caplog.records if r.name == "notify_webhook"] == [
        False, True, True
    ]  # fmt: skip


async def test_the_messages_dropped_at_shutdown_are_said_in_the_one_final_line(
    aiohttp_server: Any, hostapp_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver that never answers: the first post is still waiting when shutdown's
    drain (half of ``timeout_seconds``) ends, so all five are dropped."""
    caplog.set_level(logging.INFO)

    async def hang(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("never answers")

    app = web.Application()
    app.router.add_post("/hook", hang)
    server = await aiohttp_server(app)
    host, plugin = notifier(hostapp_factory, str(server.make_url("/hook")), timeout_seconds=5)
    await plugin.startup(host)
    _post(host, plugin, range(1, 6))
    await plugin.shutdown(host)
    assert _lines(caplog) == [
        (
            logging.WARNING,
            "notify_webhook: 5 messages not sent at shutdown (the receiver is slow or down): "
            "dropped; in all 0 messages sent, 0 failed, 5 dropped",
        )
    ]


async def test_a_full_queue_and_its_drain_are_said_on_the_terminal(
    aiohttp_server: Any, hostapp_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages dropped are alerts lost: the terminal of a run shows the episode of a full
    queue and its end, not only ``hostapp.log``. A receiver held until the queue of 2 has
    dropped one message; then everything goes, and the next message finds it drained."""
    caplog.set_level(logging.INFO)
    release = asyncio.Event()
    got: list[int] = []

    async def held(request: web.Request) -> web.Response:
        await release.wait()
        got.append((await request.json())["event"]["ticket"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", held)
    server = await aiohttp_server(app)
    host, plugin = notifier(hostapp_factory, str(server.make_url("/hook")), queue_size=2)
    await plugin.startup(host)
    _post(host, plugin, range(1, 2))
    while not plugin._posting:  # the first message is out, waiting for the receiver
        await asyncio.sleep(0.01)
    _post(host, plugin, range(2, 5))  # 2 and 3 fill the queue; 4 pushes 2 out
    release.set()
    await asyncio.wait_for(plugin._queue.join(), 30)  # type: ignore[union-attr]
    _post(host, plugin, range(5, 6))
    await plugin.shutdown(host)
    assert got == [1, 3, 4, 5]
    said = [(r.levelno, r.getMessage(), _for_terminal(r)) for r in caplog.records
            if r.name == "notify_webhook"]  # fmt: skip
    assert said == [
        (logging.WARNING, "notify_webhook: the queue is full (receiver slow or down); "
                          "dropping the oldest messages", True),
        (logging.WARNING, "notify_webhook: queue drained; 1 messages dropped so far", True),
        (logging.WARNING, "notify_webhook: 4 messages sent, 0 failed, 1 dropped", True),
    ]  # fmt: skip
