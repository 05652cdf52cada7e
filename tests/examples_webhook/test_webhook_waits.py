"""A receiver's wait holds back the next message even after a message's last try, on the
event loop's own clock against a real receiver on 127.0.0.1 (waits of a few tenths of a
second); the URL's checks at configure; Discord's limit on a message's length."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from examples_webhook.test_notify_webhook import Factory, Receiver, notifier, start

from hookspecs import ConfigError, DefensiveState

WAIT = 0.4


@pytest.mark.parametrize("in_body", [False, True], ids=["Retry-After", "discord retry_after"])
async def test_a_wait_asked_at_a_messages_last_try_holds_back_the_next_one(
    aiohttp_server: Any, hostapp_factory: Factory, in_body: bool
) -> None:
    """``retries = 0``: the first message's only try gets a 429 asking to wait; it fails,
    and the next message goes only once the wait is over (it used to go at once: a
    receiver asking 3 s got posts at 0, 3, 6, 9, 9, 12…)."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[float, int]] = []  # (loop time, ticket) of each post that arrived

    async def handle(request: web.Request) -> web.Response:
        seen.append((loop.time(), (await request.json())["event"]["ticket"]))
        if len(seen) > 1:
            return web.Response(status=204)
        if in_body:
            return web.json_response({"retry_after": WAIT, "global": False}, status=429)
        return web.Response(status=429, headers={"Retry-After": f"{WAIT:g}"})

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    host, plugin = notifier(hostapp_factory, str(server.make_url("/hook")), retries=0)
    plugin._sleep, plugin._clock = asyncio.sleep, loop.time  # real waits, the loop's clock
    await plugin.startup(host)
    plugin.on_state_change(host, 31, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    plugin.on_state_change(host, 32, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await asyncio.wait_for(plugin._queue.join(), 5)  # type: ignore[union-attr]
    await plugin.shutdown(host)
    (asked_at, first), (sent_at, second) = seen
    assert (first, second) == (31, 32)
    assert sent_at - asked_at >= WAIT * 0.95, sent_at - asked_at
    report = plugin.run_report()
    assert (report["failed"], report["sent"]) == (1, 1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://", "an http(s) webhook URL with a host, got 'https://'"),
        ("https:///api/webhooks/1/tok-5d2b8e", "with a host, got 'https:///***'"),
        ("https://discord.com:x/api/webhooks/1/tok-5d2b8e", "with a valid port"),
        ("ftp://discord.com/api/webhooks/1/tok-5d2b8e", "an http(s) webhook URL, got"),
    ],
)
def test_a_url_without_a_host_is_refused_at_configure_its_secret_unsaid(
    hostapp_factory: Factory, url: str, expected: str
) -> None:
    """``https://`` was accepted, and every message then failed at run time."""
    with pytest.raises(ConfigError) as refused:
        notifier(hostapp_factory, url)
    message = str(refused.value)
    assert "[plugin.notify_webhook]: key 'url': expected " in message
    assert expected in message and "\n" not in message
    assert "tok-5d2b8e" not in message


async def test_a_scheme_in_capitals_is_a_url_as_any_other(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    """``HTTPS://discord.com/…`` was refused as not http(s), showing ``https://…``."""
    rx = Receiver()
    url = await start(aiohttp_server, rx)
    host, plugin = notifier(hostapp_factory, "HTTP://" + url.removeprefix("http://"))
    await plugin.startup(host)
    plugin.on_state_change(host, 33, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "")
    await plugin.shutdown(host)
    assert [b["event"]["ticket"] for b in rx.bodies] == [33]


async def test_a_text_longer_than_discord_takes_is_cut_not_lost(
    aiohttp_server: Any, hostapp_factory: Factory
) -> None:
    """Discord refuses ``content`` over 2,000 characters with a 400, never retried."""
    rx = Receiver()
    host, plugin = notifier(hostapp_factory, await start(aiohttp_server, rx))
    await plugin.startup(host)
    reason = "x" * 3000
    plugin.on_state_change(host, 34, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, reason)
    await plugin.shutdown(host)
    (got,) = rx.bodies
    assert len(got["content"]) == 2000 and got["content"].endswith("x…")
    assert got["text"] == got["content"] and got["event"]["reason"] == reason
