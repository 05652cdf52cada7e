"""``trades()`` against a server (or a proxy in front of one) that ignores ``after``: it
answers offset pages, ``more: true`` and no ``next_after``. The client read the first
page, found no cursor to go on from, and stopped there: every other trade dropped
without a word. It now goes on by ``offset`` (docs/client.md, "Asking"). A tiny real
aiohttp server on loopback plays that older server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from dtms_plugin.client import AsyncDtmsClient, aio

TRADES = {str(t): {"ticket": t, "state": "HEALTHY"} for t in range(1, 26)}


def _older_server(with_total: bool) -> web.Application:
    async def trades(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))  # ``after`` is not looked at
        limit = int(request.query.get("limit", "100"))
        keys = list(TRADES)[offset : offset + limit]
        body: dict[str, Any] = {"trades": {k: TRADES[k] for k in keys}, "success": True}
        if with_total:  # an older server still: a total, no ``more``
            body["total"] = len(TRADES)
        else:
            body["more"] = offset + limit < len(TRADES)
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/dtms/trades", trades)
    return app


@pytest.fixture(params=[False, True], ids=["more", "total"])
async def older_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    runner = web.AppRunner(_older_server(request.param))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_server_ignoring_after_is_read_by_offset(
    older_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aio, "TRADES_PAGE", 10)
    async with AsyncDtmsClient(older_url) as dtms:
        trades = await dtms.trades()
    assert sorted(trades) == list(range(1, 26))
