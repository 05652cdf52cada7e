"""The webhook notifier against a real aiohttp receiver on 127.0.0.1: the body Discord,
Slack and generic receivers read, retries of transient failures, a dead receiver that
never blocks a hook, and the settings' one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from notify_webhook.plugin import WebhookNotifier

from hookspecs import Action, ActionKind, ActionResult, ConfigError, DefensiveState, ResultCode

Factory = Callable[..., Any]


class Receiver:
    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.bodies: list[dict[str, Any]] = []
        self.got = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if self.answers else 204
        if status < 300:
            self.bodies.append(await request.json())
            self.got.set()
        return web.Response(status=status)


async def start(aiohttp_server: Callable[..., Awaitable[TestServer]], rx: Receiver) -> str:
    app = web.Application()
    app.router.add_post("/hook", rx.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook"))


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def notifier(hostapp_factory: Factory, url: str, **settings: Any) -> tuple[Any, WebhookNotifier]:
    plugin = WebhookNotifier(sleep=Sleeps())
    config = {"plugin": {"notify_webhook": {"url": url, **settings}}}
    return hostapp_factory({"notify_webhook": plugin}, config), plugin


async def test_state_changes_and_actions_reach_the_receiver(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    rx = Receiver()
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx))
    await plugin.startup(host)
    plugin.on_state_change(host, 7, DefensiveState.HEALTHY, DefensiveState.WARNING_L2, "score -3.1")
    action = Action(7, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, reason="WARNING_L2", key="k")
    plugin.on_action(host, action, ActionResult(True, ResultCode.OK))
    await plugin.shutdown(host)
    first, second = rx.bodies
    assert first["content"] == first["text"] == "DTMS ticket 7: HEALTHY → WARNING_L2 (score -3.1)"
    assert first["event"] == {"type": "state_change", "ticket": 7, "from": "HEALTHY",
                              "to": "WARNING_L2", "reason": "score -3.1"}  # fmt: skip
    assert second["text"] == "DTMS ticket 7: tighten_sl stop_loss 1995.0: done"
    assert second["event"]["kind"] == "tighten_sl" and second["event"]["ok"] is True
    assert plugin.run_report() == {"activity": 2, "sent": 2, "failed": 0, "dropped": 0}


async def test_transient_failures_are_retried_after_1_then_2_seconds(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    rx = Receiver([503, 429])
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx))
    await plugin.startup(host)
    plugin.on_state_change(host, 8, DefensiveState.WARNING_L2, DefensiveState.HEDGED, "")
    await plugin.shutdown(host)
    assert [b["event"]["to"] for b in rx.bodies] == ["HEDGED"]
    assert plugin._sleep.waits == [1.0, 2.0]  # type: ignore[attr-defined]


async def test_a_refusing_receiver_is_not_retried_and_counted(
    aiohttp_server: Any, hostapp_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    rx = Receiver([400])
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx))
    await plugin.startup(host)
    plugin.on_state_change(host, 9, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert rx.bodies == [] and plugin.run_report()["failed"] == 1
    assert any("ticket 9" in r.getMessage() and "400" in r.getMessage() for r in caplog.records)


async def test_a_dead_receiver_never_blocks_a_hook_and_the_queue_is_bounded(
    hostapp_factory: Factory, unused_tcp_port: int
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/hook"
    host, plugin = notifier(hostapp_factory, url, queue_size=3, retries=0, timeout_seconds=0.2)
    await plugin.startup(host)
    for ticket in range(1, 11):  # the hooks return at once, whatever the receiver does
        plugin.on_state_change(host, ticket, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    assert plugin._queue is not None and plugin._queue.qsize() <= 3
    await plugin.shutdown(host)
    report = plugin.run_report()
    assert report["sent"] == 0 and report["dropped"] >= 7
    assert report["failed"] + report["dropped"] == 10


async def test_an_error_names_the_receivers_host_never_its_url(
    aiohttp_server: Any, hostapp_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's texts of some errors hold the whole URL, and a webhook's path is its
    token: a receiver that redirects to itself forever gives one such error."""
    path = "/api/webhooks/1/tok-5d2b8e"

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(path)

    app = web.Application()
    app.router.add_post(path, loop)
    server = await aiohttp_server(app)
    host, plugin = notifier(hostapp_factory, str(server.make_url(path)), retries=0)
    await plugin.startup(host)
    plugin.on_state_change(host, 11, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert plugin.run_report()["failed"] == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "ticket 11" in errors[0], errors
    assert f"http://127.0.0.1:{server.port}/***" in errors[0] and "TooManyRedirects" in errors[0]
    assert "tok-5d2b8e" not in caplog.text


@pytest.mark.parametrize(
    ("settings", "key"),
    [({}, "url"), ({"url": "ftp://x"}, "url"),
     ({"url": "http://x", "timeout_seconds": 0}, "timeout_seconds"),
     ({"url": "http://x", "retries": 9}, "retries")],
)  # fmt: skip
def test_bad_settings_are_one_line_naming_the_key(
    hostapp_factory: Factory, settings: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match=rf"\[plugin.notify_webhook\].*{key}"):
        hostapp_factory(
            {"notify_webhook": WebhookNotifier()}, {"plugin": {"notify_webhook": settings}}
        )
