"""Answers a DTMS server never sends, from real aiohttp servers on loopback: a 200 that
says ``success: false``, a redirect to a page that answers 200, JSON keyed by what is no
ticket, a 500, and an answer without end. Each was taken for a success, escaped
``except DtmsError``, or was read whole into memory (docs/client.md, "What each call
does")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient, DtmsError, DtmsUnreachable

from .conftest import Served

Server = Callable[..., Awaitable[TestServer]]


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def serving(aiohttp_server: Server, handler: Any, *extra: tuple[str, Any]) -> str:
    """A server answering every path with ``handler`` (and ``extra``'s paths with theirs)."""
    app = web.Application()
    for path, own in extra:
        app.router.add_route("*", path, own)
    app.router.add_route("*", "/{tail:.*}", handler)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_200_saying_success_false_is_no_success(aiohttp_server: Server) -> None:
    """register said ``registered``, report_closed returned the error as the recorded
    close, unregister True, and state(1) the error as the trade."""

    async def locked(request: web.Request) -> web.Response:
        body = {"success": False, "error": "database is locked", "message": "try later"}
        return web.json_response(body)

    url = await serving(aiohttp_server, locked)
    sleeps = Sleeps()
    async with AsyncDtmsClient(url, sleep=sleeps) as client:
        result = await client.register(registration(1))
        (many,) = await client.register_many([registration(2)])
        calls = [  # made one at a time: none is left unawaited when one fails
            lambda: client.report_closed(1, "tp", 5.0), lambda: client.unregister(1),
            lambda: client.state(1), client.status, client.trades,
            lambda: client.states([1]), client.actions,
        ]  # fmt: skip
        for call in calls:
            with pytest.raises(DtmsError) as failed:
                await call()
            assert "answered success false: database is locked; try later" in str(failed.value)
            assert not isinstance(failed.value, DtmsUnreachable)
    assert (result.outcome, result.ok, result.status) == ("refused", False, 200)
    assert result.message == (
        f"{url}/dtms/trade/enable answered success false: database is locked; try later"
    )
    assert many.outcome == "refused"  # its "results" are missing: no item to read
    assert sleeps.waits == []


async def test_a_2xx_without_what_the_call_needs_is_no_success(aiohttp_server: Server) -> None:
    """``success: true`` alone (another service's JSON) is not a registration (no
    ``trade_info``), a recorded close or a trade (no ``state``)."""

    async def bare(request: web.Request) -> web.Response:
        return web.json_response({"success": True, "ticket": 1})

    url = await serving(aiohttp_server, bare)
    async with AsyncDtmsClient(url) as client:
        result = await client.register(registration(1))
        for call, key in (
            (lambda: client.report_closed(1), "state"),
            (lambda: client.state(1), "state"),
        ):
            with pytest.raises(DtmsError, match=f"^{url}/dtms/trade/1.* answered without '{key}'"):
                await call()
    assert result.outcome == "refused"
    assert result.message.startswith(f"{url}/dtms/trade/enable answered without 'trade_info'")


@pytest.mark.parametrize("redirect", [web.HTTPFound, web.HTTPTemporaryRedirect])
async def test_a_redirect_is_not_a_dtms_server(aiohttp_server: Server, redirect: type) -> None:
    """aiohttp followed it (a 302 POST becomes a GET) to a page answering 200, which
    register, report_closed and unregister took for done."""
    landed: list[str] = []

    async def landing(request: web.Request) -> web.Response:
        landed.append(request.method)
        return web.json_response({"success": True, "note": "landing page"})

    async def moved(request: web.Request) -> web.Response:
        raise redirect("/elsewhere")

    url = await serving(aiohttp_server, moved, ("/elsewhere", landing))
    status = redirect.status_code
    async with AsyncDtmsClient(url) as client:
        result = await client.register(registration(1))
        for call, path in (
            (lambda: client.report_closed(1), "/dtms/trade/1/closed"),
            (lambda: client.unregister(1), "/dtms/trade/1"),
            (lambda: client.is_defensive(1), "/dtms/trade/1"),
            (client.status, "/dtms/status"),
        ):
            with pytest.raises(DtmsError) as refused:
                await call()
            said = f"not a DTMS server at {url}{path} (HTTP {status} to /elsewhere)"
            assert (str(refused.value), refused.value.status) == (said, status)
    assert (result.outcome, result.status) == ("refused", status)
    said = f"not a DTMS server at {url}/dtms/trade/enable (HTTP {status} to /elsewhere)"
    assert result.message == said
    assert landed == []


async def test_a_redirect_loop_is_a_dtms_error(aiohttp_server: Server) -> None:
    """Every call raised aiohttp's TooManyRedirects, which ``except DtmsError`` let by."""

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.path)

    url = await serving(aiohttp_server, loop)
    async with AsyncDtmsClient(url) as client:
        with pytest.raises(DtmsError, match=f"^not a DTMS server at {url}/dtms/status"):
            await client.status()


async def test_a_malformed_http_answer_is_a_dtms_error() -> None:
    """aiohttp's ClientResponseError (a status line that is no HTTP's) escaped every call."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with AsyncDtmsClient(url) as client:
            with pytest.raises(DtmsError) as unread:
                await client.status()
    finally:
        server.close()
        await server.wait_closed()
    assert str(unread.value).startswith(f"{url}/dtms/status: the answer could not be read")
    assert "\n" not in str(unread.value)


async def test_keys_that_are_no_tickets_are_a_dtms_error(aiohttp_server: Server) -> None:
    """states() and trades() raised ``ValueError: invalid literal for int()``."""
    bodies = {
        "trades": {"success": True, "trades": {"abc": {"state": "HEALTHY"}}},
        "unknown": {"success": True, "trades": {}, "unknown": ["zz"]},
    }

    for which, body in bodies.items():
        url = await serving(aiohttp_server, answering(body))
        async with AsyncDtmsClient(url) as client:
            calls = [lambda: client.states([1]), *([client.trades] if which == "trades" else [])]
            for call in calls:
                with pytest.raises(DtmsError, match=f"^{url}/dtms/trades answered '{which}' with"):
                    await call()


async def test_a_charset_python_does_not_know_is_read_as_utf_8(aiohttp_server: Server) -> None:
    """``charset=utf8mb4`` (MySQL's name for UTF-8): decoding by that name raised a bare
    LookupError from every call, past ``except DtmsError``."""

    async def mysql_named(request: web.Request) -> web.Response:
        body = '{"success": true, "dtms_status": {"system_active": true}, "note": "é"}'
        return web.Response(
            body=body.encode(), headers={"Content-Type": "application/json; charset=utf8mb4"}
        )

    url = await serving(aiohttp_server, mysql_named)
    async with AsyncDtmsClient(url) as client:
        status = await client.status()
    assert status["note"] == "é" and status["dtms_status"] == {"system_active": True}


def answering(body: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body)

    return handler


async def test_the_real_server_answers_are_still_taken(served: Served) -> None:
    """Every call against dtms serve (every answer with ``success`` and its fields)."""
    async with AsyncDtmsClient(served.url) as client:
        assert (await client.register(registration(5))).outcome == "registered"
        assert (await client.register_many([registration(6)]))[0].outcome == "registered"
        trade = await client.state(5)
        assert trade is not None and trade["state"] == "HEALTHY"
        assert set(await client.states([5, 6, 7])) == {5, 6}
        assert set(await client.trades()) == {5, 6}
        assert "dtms_status" in await client.status()
        closed = await client.report_closed(5, "tp", 5.0)
        assert closed is not None and closed["state"] == "CLOSED"
        assert await client.unregister(6) is True
