"""An ``api_url`` where something other than DTMS answers 200 (a proxy's default page, a
wrong virtual host): nothing is delivered there. Every entry stays in the outbox, the host
says once that the URL is no DTMS server, and the report does not count trades as handed
over. On a real loopback server that answers every request with an HTML page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from support.fake_dtms_server import HOST, Clock, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings

PAGE = "<html>hello from nginx</html>"


@pytest.fixture
async def proxy_page() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_page_that_is_not_dtms_delivers_nothing(
    proxy_page: str,
    settings_for: Callable[..., DtmsSettings],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    clock = Clock()
    strategy: RemoteStrategy = await started(settings_for(proxy_page), clock=clock)
    for ticket in (1, 2, 3):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.on_trade_closed(HOST, trade(1), "stop_loss")
    await strategy.drain()
    for _ in range(10):
        clock.advance(1)
        await strategy.on_cycle(HOST, clock())
        await strategy.drain()
    assert strategy.store.outbox_len() == 3  # the close carries its registration
    report = strategy.report()
    assert report["trades_handed"] == 0 and report["outbox_pending"] == 3
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    (first,) = [line for line in said if "is not answering" in line]  # one episode
    assert "at start-up, GET /health answered 200 without a DTMS JSON object" in first
    assert "is api_url a DTMS server?" in first
    assert not any("answers again" in line for line in said)
