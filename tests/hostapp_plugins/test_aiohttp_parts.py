"""The aiohttp internals hostapp/aiohttp_parts.py reads still say what the host's web
layer takes them to say, on the aiohttp installed: an aiohttp that renames or reshapes
them fails here, not as a server whose connections are no longer bounded. And the
episodes of hostapp/log_episodes.py: one line when one starts, then counts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from hostapp.aiohttp_parts import bodies_since, build_handler, requests_parsed, upgraded
from hostapp.log_episodes import Episodes
from hostapp.web_errors import JsonErrorRequestHandler


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5) if name == "peername" else default

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: Any) -> None:
        pass


async def _answer(request: web.BaseRequest) -> web.Response:
    return web.Response()


async def test_parsed_requests_and_their_bodies_are_read_as_aiohttp_keeps_them() -> None:
    server = web.Server(_answer, max_line_size=100)
    handler = build_handler(server, JsonErrorRequestHandler)
    assert isinstance(handler, JsonErrorRequestHandler)
    handler.connection_made(_Transport())
    try:
        assert requests_parsed(handler) == 0
        handler.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n{")
        assert requests_parsed(handler) == 1
        (body,) = bodies_since(handler, 0)
        assert not body.is_eof()
        handler.data_received(b"}\r\n")
        assert bodies_since(handler, 1) == []
        handler.data_received(b"\n")  # the 4th byte of the body
        assert body.is_eof()
        handler.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        (second,) = bodies_since(handler, 1)
        assert second.is_eof() and requests_parsed(handler) == 2
        assert not upgraded(handler)  # a WebSocket's: tests/hostapp_plugins/test_web_connections
    finally:
        handler.connection_lost(None)
    await asyncio.sleep(0)


class _Later:
    def __init__(self) -> None:
        self.due: list[Callable[[], None]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        assert delay == 60.0
        self.due.append(callback)

    def run(self) -> None:
        due, self.due = self.due, []
        for callback in due:
            callback()


def test_an_episode_is_one_line_then_a_count_per_window(caplog: pytest.LogCaptureFixture) -> None:
    later = _Later()
    episodes = Episodes(logging.getLogger("t.episodes"), later)
    with caplog.at_level(logging.INFO, "t.episodes"):
        for n in range(100):
            episodes.note("bad", "10.0.0.1", f"#{n}")
        episodes.note("bad", "10.0.0.2")
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 2 and "from 10.0.0.1: #0" in said[0] and "10.0.0.2" in said[1]
        later.run()  # a window: 10.0.0.1's 99 more are said, 10.0.0.2's episode ends
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 3 and "99 more" in said[2] and "(the last: #99)" in said[2]
        later.run()  # a quiet window: 10.0.0.1's episode ends
        assert later.due == []
        episodes.note("bad", "10.0.0.1")  # a new episode is said at once
        assert len(caplog.records) == 4
        episodes.note("bad", "10.0.0.1")
        episodes.close()
        assert "1 more" in caplog.records[-1].getMessage()
