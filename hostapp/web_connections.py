"""Bounds on the connections of the host's web server: how long a request may take to
arrive, how many connections may be open, and the event loop's accept failures logged
once per episode.

Why: aiohttp closes a connection idle between requests (its keep-alive timeout) but
nothing bounds one that sends half a request line, headers it never finishes, or a body
short of its ``Content-Length``: such connections stayed open for good, and two local
processes holding 9,900 each filled the server's file table. /health then timed out and
asyncio logged every failed accept with a traceback, 23 MB of stderr in 20 s.

* **Receive deadline** (``receive_timeout``, 30 s): a request, its headers and its body,
  must have arrived that long after its first byte (after the connection opened, for a
  connection that sends nothing); else the connection is closed. It is disarmed once
  the request is in, so a slow handler or a long answer is never cut, and armed again
  by the first byte of the next request on a kept-alive connection; between requests
  aiohttp's own keep-alive timeout (``keepalive_timeout``, 75 s as in ``web.run_app``)
  closes an idle connection.
* **Open connections** (``max_connections``, 1,000): over the cap, the connection that has
  waited longest for a request it has not finished sending (or that sent nothing) is
  closed to make room, so that clients hoarding stalled connections can neither take the
  process's file table nor keep every newcomer out; when every open connection is busy
  (a handler running, a WebSocket, idle between requests), the newcomer is closed at once.
* **Log lines**: connections closed by these bounds, the requests aiohttp refuses before
  an app sees them (:mod:`.web_errors`), and the event loop's ``socket.accept() out of
  system resource`` are said once per episode with a count (:mod:`.log_episodes`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import StreamReader, web

from .aiohttp_parts import bodies_since, build_handler, requests_parsed, upgraded
from .log_episodes import Episodes
from .web_errors import JsonErrorRequestHandler

log = logging.getLogger("hostapp.web")

#: asyncio's message when ``accept()`` fails for want of a file descriptor or memory.
ACCEPT_FAILED = "socket.accept() out of system resource"


@dataclass(frozen=True)
class ConnectionLimits:
    """The bounds of :mod:`.web_connections` (docs/architecture.md §9)."""

    #: Seconds a request (request line, headers and body) may take to arrive.
    receive_timeout: float = 30.0
    #: Connections open at once; one more is closed as soon as it is accepted.
    max_connections: int = 1000
    #: Seconds a kept-alive connection may stay idle between requests (aiohttp's).
    keepalive_timeout: float = 75.0
    #: Seconds the server's stop waits for the requests under way before it closes their
    #: connections (aiohttp's 60 by default; a request still arriving was held until its
    #: receive deadline): within the 10 s a service manager or ``docker stop`` gives.
    shutdown_timeout: float = 5.0


class _Guard:
    """What a server's connections share: the limits, the episodes, the server."""

    def __init__(self, limits: ConnectionLimits, episodes: Episodes, server: web.Server) -> None:
        self.limits = limits
        self.episodes = episodes
        self.server = server
        #: the connections whose receive deadline runs, oldest armed first: the ones a
        #: newcomer over the cap may take the place of
        self.waiting: dict[GuardedRequestHandler, None] = {}
        #: closed to make room, still counted in the server's connections until lost
        self.evicted: set[GuardedRequestHandler] = set()

    def make_room(self, newcomer: GuardedRequestHandler) -> bool:
        """Close the connection waiting longest for its request; False if none waits."""
        for handler in self.waiting:
            if handler is not newcomer:
                handler._disarm()
                self.evicted.add(handler)
                handler.force_close()
                return True
        return False


def _client(transport: asyncio.BaseTransport | None) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


class GuardedRequestHandler(JsonErrorRequestHandler):
    """A connection with a receive deadline, closed at once when over the cap."""

    __slots__ = ("_body", "_deadline", "_fresh", "_guard")

    def __init__(self, *args: Any, guard: _Guard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = guard
        self._deadline: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None  # of the request being received
        self._fresh = True  # no byte received yet

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        guard = self._guard
        cap = guard.limits.max_connections
        if len(guard.server.connections) - len(guard.evicted) > cap:
            if guard.make_room(self):
                guard.episodes.note(
                    f"connections over the cap of {cap} open at once: the one waiting"
                    " longest for its request closed to make room",
                    _client(transport),
                )
            else:
                guard.episodes.note(
                    f"connections over the cap of {cap} open at once, all busy: the new"
                    " one closed at once",
                    _client(transport),
                )
                self.force_close()
                return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if upgraded(self):  # a WebSocket's frames: no request to arrive, no deadline
            self._disarm()
            super().data_received(data)
            return
        if data and self.transport is not None and (self._fresh or self._deadline is None):
            self._fresh = False
            self._arm()  # the first byte of a request
        parsed = requests_parsed(self)
        super().data_received(data)
        bodies = bodies_since(self, parsed)
        if bodies:
            self._body = bodies[-1]
        if self._body is not None and self._body.is_eof():
            self._body = None  # the request is in: its handler may take its time
            self._disarm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        self._guard.evicted.discard(self)
        super().connection_lost(exc)

    def bad_request(self, client: str, status: int, message: str) -> None:
        self._guard.episodes.note(
            f"requests refused before any app saw them (HTTP {status})", client, message
        )

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.limits.receive_timeout, self._too_slow)
        self._guard.waiting[self] = None

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._guard.waiting.pop(self, None)

    def _too_slow(self) -> None:
        self._deadline = None
        self._guard.waiting.pop(self, None)
        if self.transport is None:
            return
        self._guard.episodes.note(
            f"requests not received within {self._guard.limits.receive_timeout:g} s,"
            " connection closed",
            _client(self.transport),
        )
        self.force_close()


class _GuardedServer(web.Server):
    _guard: _Guard

    def __call__(self) -> GuardedRequestHandler:
        return build_handler(self, GuardedRequestHandler, guard=self._guard)


class GuardedAppRunner(web.AppRunner):
    """An ``AppRunner`` whose connections are bounded by ``limits`` and answer protocol
    errors as JSON (:mod:`.web_errors`), and which, while set up, counts the event loop's
    accept failures instead of logging each."""

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(
            app,
            keepalive_timeout=limits.keepalive_timeout,
            shutdown_timeout=limits.shutdown_timeout,
            **kwargs,
        )
        self.limits = limits
        self._episodes: Episodes | None = None
        self._loop_handler: Any = None
        self._previous_handler: Any = None

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        loop = asyncio.get_running_loop()
        episodes = Episodes(log, loop.call_later)
        server.__class__ = _GuardedServer  # aiohttp's Server, its connections built here
        assert isinstance(server, _GuardedServer)
        server._guard = _Guard(self.limits, episodes, server)
        self._episodes = episodes
        self._previous_handler = loop.get_exception_handler()
        self._loop_handler = _accept_failures(episodes, self._previous_handler)
        loop.set_exception_handler(self._loop_handler)
        return server

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            loop = asyncio.get_running_loop()
            if (
                self._loop_handler is not None
                and loop.get_exception_handler() is self._loop_handler
            ):
                loop.set_exception_handler(self._previous_handler)
            self._loop_handler = None
            if self._episodes is not None:
                self._episodes.close()


def _accept_failures(episodes: Episodes, previous: Any) -> Any:
    """An event loop exception handler that counts accept failures (one line per
    episode) and hands every other error to ``previous`` (or the loop's default)."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(ACCEPT_FAILED):
            exc = context.get("exception")
            episodes.note(
                "accepting connections failed (out of file descriptors or memory)",
                "",
                repr(exc) if exc is not None else "",
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    return handle
