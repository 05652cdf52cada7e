"""A 500 is the server's own failure, never its refusal of a request (the server answers
bad input with a 4xx: docs/client.md, "Errors"). It was read as a refusal: ``register``
said ``refused`` at once, and ``report_closed`` raised a plain DtmsError, so a bot keeping
a close only on DtmsUnreachable, as the docs say, threw it away. It is now transient, as
a 503 is. On a real aiohttp server on loopback."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient, DtmsUnreachable


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_500_is_retried_and_then_unreachable(aiohttp_server: object) -> None:
    hits: list[str] = []

    async def failing(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"error": "internal", "success": False}, status=500)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", failing)
    server: TestServer = await aiohttp_server(app)  # type: ignore[operator]
    url = str(server.make_url("")).rstrip("/")
    sleeps = Sleeps()
    async with AsyncDtmsClient(url, sleep=sleeps, rand=lambda: 0.0) as client:
        result = await client.register(registration(1))
        with pytest.raises(DtmsUnreachable):
            await client.report_closed(1, "tp", 5.0)
        assert await client.is_defensive(1) is False  # a server down: nothing known
    assert (result.outcome, result.message) == ("unreachable", "500 internal")
    assert sleeps.waits == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0, 0.5]
    assert len(hits) == 4 + 4 + 2
