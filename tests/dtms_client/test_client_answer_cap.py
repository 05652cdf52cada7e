"""An answer longer than any DTMS answer (a wrong URL streaming a download, a proxy
gone wrong): 1.5 GB of JSON was read whole into memory (4.5 GB at its peak) and decoded
past the call's timeout. The client reads at most ``http.MAX_ANSWER_BYTES`` and then
refuses, naming the URL and the limit (docs/client.md). On a real aiohttp server on
loopback; the cap is lowered for the test, so nothing large is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dtms_plugin.client import AsyncDtmsClient, DtmsError, DtmsUnreachable, http

Server = Callable[..., Awaitable[TestServer]]


async def test_an_answer_longer_than_the_cap_is_refused(
    aiohttp_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed, or announced by its Content-Length: the reading stops past the cap."""
    cap = 1024 * 1024
    monkeypatch.setattr(http, "MAX_ANSWER_BYTES", cap, raising=False)  # the message says it
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"success": true, "pad": "')
        for _ in range(64):  # 8 MiB offered: far past the cap
            sent.append(1)
            await resp.write(b"x" * (128 * 1024))
        await resp.write(b'"}')
        return resp

    async def announced(request: web.Request) -> web.Response:
        return web.Response(body=b" " * (cap + 1), content_type="application/json")

    app = web.Application()
    app.router.add_get("/health", announced)
    app.router.add_get("/dtms/status", endless)
    url = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    async with AsyncDtmsClient(url) as client:
        for call, path in ((client.status, "/dtms/status"), (client.health, "/health")):
            with pytest.raises(DtmsError) as refused:
                await call()
            assert str(refused.value) == (
                f"{url}{path}: the answer is longer than 1,048,576 bytes, which no DTMS answer"
                " is: is this URL a DTMS server?"
            )
            assert not isinstance(refused.value, DtmsUnreachable)
    assert len(sent) < 64  # the client stopped reading; the server could not send it all
