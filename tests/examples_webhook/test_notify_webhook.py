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
    """The notifier's clock and sleep: a sleep records its wait and moves the clock on."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def notifier(
    hostapp_factory: Factory, url: str, *, mode: str = "live", **settings: Any
) -> tuple[Any, WebhookNotifier]:
    """A notifier on a host of ``mode``: live by default, as a simulated run posts only
    when its settings say so."""
    sleeps = Sleeps()
    plugin = WebhookNotifier(sleep=sleeps, clock=sleeps.clock)
    config = {"plugin": {"notify_webhook": {"url": url, **settings}}}
    host = hostapp_factory({"notify_webhook": plugin}, config)
    host._mode = mode  # the factory's host is a simulated one; startup reads the mode
    return host, plugin


async def test_state_changes_and_actions_reach_the_receiver(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    rx = Receiver()
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx))
    await plugin.startup(host)
    plugin.on_state_change(host, 7, DefensiveState.HEALTHY, DefensiveState.WARNING_L2, "score -3.1")
    action = Action(7, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "WARNING_L2", "k", "dtms")
    plugin.on_action(host, action, ActionResult(True, ResultCode.OK))
    await plugin.shutdown(host)
    first, second = rx.bodies
    assert first["content"] == first["text"] == "DTMS ticket 7: HEALTHY → WARNING_L2 (score -3.1)"
    assert first["event"] == {"type": "state_change", "ticket": 7, "from": "HEALTHY",
                              "to": "WARNING_L2", "reason": "score -3.1"}  # fmt: skip
    assert second["text"] == "DTMS ticket 7: tighten_sl stop_loss 1995.0: done"
    assert second["event"]["kind"] == "tighten_sl" and second["event"]["ok"] is True
    assert plugin.run_report() == {"activity": 2, "sent": 2, "failed": 0, "dropped": 0,
                                   "queued": 0}  # fmt: skip


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


async def test_a_post_that_timed_out_is_not_sent_again(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    """At most once: a slow receiver may have shown the message already."""
    arrivals: list[int] = []

    async def slow(request: web.Request) -> web.Response:
        arrivals.append((await request.json())["event"]["ticket"])
        await asyncio.sleep(1.0)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", slow)
    server = await aiohttp_server(app)
    url = str(server.make_url("/hook"))
    host, plugin = notifier(hostapp_factory, url, timeout_seconds=0.2, deadline_seconds=5)
    await plugin.startup(host)
    plugin.on_state_change(host, 12, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await asyncio.wait_for(plugin._queue.join(), 3)  # type: ignore[union-attr]
    await plugin.shutdown(host)
    assert arrivals == [12] and plugin.run_report()["failed"] == 1


async def test_no_message_takes_longer_than_its_deadline(
    hostapp_factory: Factory, unused_tcp_port: int
) -> None:
    """Refused connections are retried after 1, 2, 4 s, but the 4 s wait would pass a
    5 s deadline: the message fails after 3 s instead of 7."""
    url = f"http://127.0.0.1:{unused_tcp_port}/hook"
    host, plugin = notifier(hostapp_factory, url, deadline_seconds=5)
    await plugin.startup(host)
    plugin.on_state_change(host, 13, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert plugin._sleep.waits == [1.0, 2.0]  # type: ignore[attr-defined]
    assert plugin.run_report()["failed"] == 1


class RateLimited:
    """A receiver on the notifier's own clock that answers 429 until the wait it asked
    for has passed, in the header or (Discord) in the body."""

    def __init__(self, sleeps: Sleeps, wait: float, in_body: bool = False) -> None:
        self.sleeps, self.wait, self.in_body = sleeps, wait, in_body
        self.open_at: float | None = None
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        now = self.sleeps.now
        if self.open_at is None:
            self.open_at = now + self.wait
        if now < self.open_at:
            left = self.open_at - now
            if self.in_body:
                return web.json_response({"retry_after": left, "global": False}, status=429)
            return web.Response(status=429, headers={"Retry-After": f"{left:g}"})
        self.bodies.append(await request.json())
        return web.Response(status=204, headers={"X-RateLimit-Remaining": "0",
                                                 "X-RateLimit-Reset-After": "2.5"})  # fmt: skip


async def _started_on(
    rx: RateLimited, sleeps: Sleeps, aiohttp_server: Any, hostapp_factory: Factory
) -> tuple[Any, Any]:
    """A started notifier posting to ``rx`` on a real server, waiting on ``sleeps``."""
    app = web.Application()
    app.router.add_post("/hook", rx.handle)
    server = await aiohttp_server(app)
    host, plugin = notifier(hostapp_factory, str(server.make_url("/hook")))
    plugin._sleep, plugin._clock = sleeps, sleeps.clock
    await plugin.startup(host)
    return host, plugin


@pytest.mark.parametrize("in_body", [False, True], ids=["Retry-After", "discord retry_after"])
async def test_a_429_is_retried_when_the_receiver_says_and_the_next_post_paced(
    aiohttp_server: Any, hostapp_factory: Factory, in_body: bool
) -> None:
    sleeps = Sleeps()
    rx = RateLimited(sleeps, 10.0, in_body)
    host, plugin = await _started_on(rx, sleeps, aiohttp_server, hostapp_factory)
    plugin.on_state_change(host, 14, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    plugin.on_state_change(host, 15, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert [b["event"]["ticket"] for b in rx.bodies] == [14, 15]
    # 10 s as asked; then the rate limit used up: 2.5 s before the next post
    assert sleeps.waits == [10.0, 2.5]
    assert plugin.run_report()["failed"] == 0


async def test_a_wait_longer_than_the_deadline_fails_the_message_at_once(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    sleeps = Sleeps()
    rx = RateLimited(sleeps, 100.0)
    host, plugin = await _started_on(rx, sleeps, aiohttp_server, hostapp_factory)
    plugin.on_state_change(host, 16, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert sleeps.waits == [] and rx.bodies == [] and plugin.run_report()["failed"] == 1


@pytest.mark.parametrize("actions", [None, "all"])
async def test_actions_name_their_source_and_only_dtms_by_default(
    aiohttp_server: Any, hostapp_factory: Factory, actions: str | None
) -> None:
    rx = Receiver()
    more = {"actions": actions} if actions else {}
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx), **more)
    await plugin.startup(host)
    ok = ActionResult(True, ResultCode.OK)
    for ticket, source in [(21, "dtms"), (22, "exits"), (23, "atr_trailing")]:
        action = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1.5}, "why", "k", source)
        plugin.on_action(host, action, ok)
    await plugin.shutdown(host)
    texts = [b["text"] for b in rx.bodies]
    dtms = "DTMS ticket 21: tighten_sl stop_loss 1.5: done"
    if actions is None:
        assert texts == [dtms]
    else:
        assert texts == [dtms, "exits ticket 22: tighten_sl stop_loss 1.5: done",
                         "atr_trailing ticket 23: tighten_sl stop_loss 1.5: done"]  # fmt: skip
        assert [b["event"]["source"] for b in rx.bodies] == ["dtms", "exits", "atr_trailing"]
