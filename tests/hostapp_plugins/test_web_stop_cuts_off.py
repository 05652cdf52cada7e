"""A request still arriving when the server stops (its body half sent): the stop waits
``shutdown_timeout`` (5 s, not aiohttp's 60; the request's own receive deadline of 30 s
held ``dtms serve``'s stop that long), and the request is answered 503 "send it again",
never a 500 counted as the plugin's failure: it was never handled. The host's own server
on a real port."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from aiohttp import web

from hookspecs import hookimpl
from hostapp.testing import make_host
from hostapp.web import serving
from hostapp.web_connections import ConnectionLimits

HANDLED: list[int] = []


class Echo:
    @hookimpl
    def web_routes(self) -> list[Any]:
        return [web.post("/echo", _echo)]


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    HANDLED.append(len(body))
    return web.json_response({"got": len(body)})


async def test_a_request_cut_off_by_the_stop_is_a_503_and_no_plugin_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("echo", Echo())
    limits = ConnectionLimits(receive_timeout=30.0, shutdown_timeout=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        async with serving(host.plugins, host, 0, limits=limits) as (url, _names):
            port = int(url.rstrip("/").rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 40
            )
            await writer.drain()
            await asyncio.sleep(0.2)  # the handler waits for the rest of the body
            started = time.monotonic()
        stopped = time.monotonic() - started
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert stopped < 5.0  # the stop's own bound, not the 30 s receive deadline
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert b'"error": "server stopping"' in answer and b"Retry-After: 5" in answer
    assert HANDLED == []
    assert host.plugins.failed_calls.by_plugin() == {}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
