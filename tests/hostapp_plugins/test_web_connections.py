"""The host's web server bounds its connections (hostapp/web_connections.py): a
connection that never finishes its request (nothing sent, half a request line, headers
never ended, a body short of its Content-Length) is closed once the receive deadline
passes, a kept-alive connection's next request is held to it too, a slow handler is
not cut, over the cap the connection waiting longest for its request makes room for a
newcomer (the newcomer is closed when every connection is busy), and floods of refused requests
or failed accepts are logged once per episode. Before, such connections stayed open for
good and each event was a log line. The host's own server on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from hookspecs import hookimpl
from hostapp.testing import make_host
from hostapp.web import serving
from hostapp.web_connections import ACCEPT_FAILED, ConnectionLimits

#: Short enough for a test to see it pass; the tests wait for events, not for time.
DEADLINE = 0.3
#: How long a test waits for the server to close a connection before calling it open.
PATIENCE = 15.0


class Pages:
    @hookimpl
    def web_routes(self) -> list[Any]:
        return [
            web.get("/hello", _hello), web.get("/slow", _slow), web.post("/echo", _echo),
            web.get("/ws", _ws),
        ]  # fmt: skip


async def _ws(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        await socket.send_str(f"echo {message.data}")
    return socket


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": True})


#: a /slow request's handler appends to it when it starts
SLOW_STARTED: list[None] = []
#: set by a test to hold /slow's handlers until it has seen what it waits for (unset:
#: they answer after a fixed time)
SLOW_HOLD: list[asyncio.Event] = []


async def _slow(request: web.Request) -> web.Response:
    SLOW_STARTED.append(None)
    if SLOW_HOLD:  # held busy until the test lets go: no race with a loaded machine
        await SLOW_HOLD[0].wait()
    else:
        await asyncio.sleep(DEADLINE * 5)  # well past the receive deadline
    return web.json_response({"slow": True})


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"got": len(await request.read())})


@asynccontextmanager
async def server(limits: ConnectionLimits) -> AsyncIterator[int]:
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("pages", Pages())
    async with serving(host.plugins, host, 0, limits=limits) as (url, _names):
        yield int(url.rstrip("/").rsplit(":", 1)[1])


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing the connection (fails if it stays open)."""
    got = b""
    async with asyncio.timeout(PATIENCE):
        while chunk := await reader.read(4096):
            got += chunk
    return got


async def _connect(port: int, sent: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if sent:
        writer.write(sent)
        await writer.drain()
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


UNFINISHED = {
    "nothing sent": b"",
    "half a request line": b"GET /hello HTT",
    "headers not finished": b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "body short of its Content-Length": (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"
    ),
}


@pytest.mark.parametrize("sent", UNFINISHED.values(), ids=list(UNFINISHED))
async def test_a_request_never_finished_is_closed_at_the_deadline(
    sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with server(ConnectionLimits(receive_timeout=DEADLINE)) as port:
        reader, writer = await _connect(port, sent)
        try:
            got = await _closed_by_server(reader)
        finally:
            await _close(writer)
        assert b"200" not in got.split(b"\r\n", 1)[0]
    # a handler cut while reading the body is no failure of its plugin's
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    said = _lines(caplog, "not received within 0.3 s")
    assert len(said) == 1 and "from 127.0.0.1" in said[0], said


async def test_the_next_request_on_a_kept_alive_connection_is_held_to_the_deadline() -> None:
    async with server(ConnectionLimits(receive_timeout=DEADLINE)) as port:
        request = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        reader, writer = await _connect(port, request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(b"GET /hello HTTP/1.1\r\nHost: 127.0.")
            await writer.drain()
            assert await _closed_by_server(reader) == b""
        finally:
            await _close(writer)


async def test_a_slow_handler_and_a_whole_body_are_not_cut() -> None:
    async with server(ConnectionLimits(receive_timeout=DEADLINE)) as port:
        slow = b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        reader, writer = await _connect(port, slow)
        got = await _closed_by_server(reader)
        await _close(writer)
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b'{"slow": true}'), got
        body = (
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Length: 2\r\n\r\n{}"
        )
        reader, writer = await _connect(port, body)
        got = await _closed_by_server(reader)
        await _close(writer)
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b'{"got": 2}'), got


async def test_over_the_cap_the_connection_waiting_longest_makes_room_for_a_newcomer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Clients hoarding stalled connections up to the cap no longer keep every newcomer
    out for the receive deadline: the one that has waited longest is closed instead."""
    caplog.set_level(logging.INFO)
    async with server(ConnectionLimits(max_connections=3)) as port:
        held = [await _connect(port, b"") for _ in range(3)]
        request = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        reader, writer = await _connect(port, request)
        got = await _closed_by_server(reader)
        await _close(writer)
        assert got.startswith(b"HTTP/1.1 200"), got
        assert await _closed_by_server(held[0][0]) == b"", "the oldest stalled one made room"
        for held_reader, held_writer in held[1:]:  # the younger ones are still served
            held_writer.write(request)
            await held_writer.drain()
            answer = await _closed_by_server(held_reader)
            assert answer.startswith(b"HTTP/1.1 200"), answer
        for _reader, held_writer in held:
            await _close(held_writer)
    said = _lines(caplog, "over the cap")
    assert len(said) == 1 and "waiting longest" in said[0] and "127.0.0.1" in said[0], said


async def test_over_the_cap_with_every_connection_busy_the_newcomer_is_closed_at_once() -> None:
    hold = asyncio.Event()
    SLOW_HOLD[:] = [hold]
    try:
        async with server(ConnectionLimits(max_connections=3)) as port:
            slow = b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            SLOW_STARTED.clear()
            busy = [await _connect(port, slow) for _ in range(3)]
            async with asyncio.timeout(PATIENCE):
                while len(SLOW_STARTED) < 3:  # every request is in, its handler running
                    await asyncio.sleep(0.01)
            over_reader, over_writer = await _connect(port, b"")
            assert await _closed_by_server(over_reader) == b""
            await _close(over_writer)
            hold.set()  # the busy ones answer now: they were not cut
            for busy_reader, busy_writer in busy:
                got = await _closed_by_server(busy_reader)
                await _close(busy_writer)
                assert got.startswith(b"HTTP/1.1 200") and got.endswith(b'{"slow": true}'), got
    finally:
        SLOW_HOLD.clear()


def _lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


async def test_a_flood_of_malformed_requests_is_one_line_per_episode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with server(ConnectionLimits()) as port:
        for _ in range(20):
            reader, writer = await _connect(port, b"FOO\x01 / HTTP/1.1\r\nHost: x\r\n\r\n")
            got = await _closed_by_server(reader)
            await _close(writer)
            assert b" 400 " in got.split(b"\r\n", 1)[0], got
    said = _lines(caplog, "refused")
    assert len(said) == 2, said  # its start, then its count as the server stops
    assert "from 127.0.0.1" in said[0] and "19 more" in said[1], said


async def test_failed_accepts_are_one_line_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    loop = asyncio.get_running_loop()
    async with server(ConnectionLimits()):
        for _ in range(500):
            loop.call_exception_handler(
                {"message": ACCEPT_FAILED, "exception": OSError(24, "Too many open files")}
            )
        loop.call_exception_handler({"message": "something else"})
    said = _lines(caplog, "accept")
    assert len(said) == 2, said
    assert "499 more" in said[1], said
    assert _lines(caplog, "something else"), "other loop errors are still said"
    assert loop.get_exception_handler() is None, "the loop's handler is given back"


async def test_a_body_that_does_not_decode_is_a_400_said_once_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A body sent as gzip that is no gzip: a plugin's handler reading it answered 500 and
    the plugin was charged a failure, and aiohttp logged "Unhandled exception" with a
    traceback per request (also after a handler that never read it, draining the body)."""
    import aiohttp

    caplog.set_level(logging.INFO)
    async with server(ConnectionLimits(receive_timeout=5.0)) as port:
        connector = aiohttp.TCPConnector(force_close=True)  # a connection per request
        async with aiohttp.ClientSession(connector=connector) as session:
            for path in ("/echo", "/echo", "/echo", "/hello", "/hello"):
                method = session.post if path == "/echo" else session.get
                async with method(
                    f"http://127.0.0.1:{port}{path}", data=b"not gzip at all" * 10,
                    headers={"Content-Encoding": "gzip"},
                ) as resp:  # fmt: skip
                    if path == "/echo":
                        assert resp.status == 400
                        body = await resp.json()
                        assert body["field"] == "body", body
    text = caplog.text
    assert "Unhandled exception" not in text and "Traceback" not in text
    assert "failed" not in " ".join(
        r.getMessage() for r in caplog.records if "pages" in r.getMessage()
    )


async def test_a_websocket_lives_past_the_receive_deadline() -> None:
    """A plugin's WebSocket route: after the upgrade its frames are no request, and the
    receive deadline, armed again by each frame, cut it after 30 s (here 0.3 s)."""
    import aiohttp

    async with (
        server(ConnectionLimits(receive_timeout=DEADLINE)) as port,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{port}/ws") as socket,
    ):
        for i in range(8):  # 8 frames over ~3 deadlines
            await socket.send_str(str(i))
            answer = await socket.receive(timeout=PATIENCE)
            assert answer.type is aiohttp.WSMsgType.TEXT, answer
            assert answer.data == f"echo {i}"
            await asyncio.sleep(DEADLINE / 2)
        assert not socket.closed
