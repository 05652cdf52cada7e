"""An ``api_url`` whose server redirects (a login wall, a moved site) to a page that
answers 200 with JSON: aiohttp followed the redirect (a 302 turning the POST into a GET)
and the outbox took the landing page's 200 for delivered, dropping the registrations and
the close. A redirect is no DTMS answer: nothing is delivered, every entry stays in the
outbox. On a real loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from support.fake_dtms_server import HOST, Clock, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings


class Redirecting:
    url = ""
    landed = 0


@pytest.fixture
async def redirecting() -> AsyncIterator[Redirecting]:
    seen = Redirecting()

    async def landing(request: web.Request) -> web.Response:
        seen.landed += 1
        return web.json_response({"success": True, "note": "landing page"})

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_route("*", "/elsewhere", landing)
    app.router.add_route("*", "/{tail:.*}", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield seen
    await runner.cleanup()


async def test_a_redirect_to_a_page_delivers_nothing(
    redirecting: Redirecting,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
) -> None:
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(redirecting.url), clock=clock)
    for ticket in (1, 2, 3):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.on_trade_closed(HOST, trade(1), "stop_loss")
    await strategy.drain()
    for _ in range(3):
        clock.advance(1)
        await strategy.on_cycle(HOST, clock())
        await strategy.drain()
    assert strategy.store.outbox_len() == 3  # the close carries its registration
    assert strategy.report()["trades_handed"] == 0
    assert redirecting.landed == 0  # never followed
