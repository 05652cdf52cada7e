"""Requests refused for the client's fault (a 400, 401, 403, 405, 413 or 415), said at
INFO once per episode of one kind from one client, then counted.

Why: such answers wrote nothing at INFO, so a client sending a wrong token or a malformed
body in a loop was invisible in the log; one line per request would let that client fill
it (docs/scaling.md "Failures" says the same of 503s, :mod:`.unavailable`). The first of
an episode is said with its answer's message; later ones are counted and said as one line
a minute while the episode lasts; a quiet minute ends it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger("dtms_plugin.server")

#: The statuses that say the request was the client's mistake (not 404, 409 or 422: a
#: client asking after a ticket the server does not manage is routine).
REFUSED = frozenset({400, 401, 403, 405, 413, 415})
#: Seconds an episode's later refusals are counted before their count is said.
WINDOW = 60.0
#: (kind, client) pairs counted at once; more clients are counted as ``others``.
MAX_OPEN = 256


class Refusals:
    """One app's episodes of refused requests."""

    def __init__(
        self, logger: logging.Logger = log, window: float = WINDOW, loop: Any = None
    ) -> None:
        self.log = logger
        self.window = window
        self._loop = loop  # None: the running one (a test's stand-in else)
        self.open: dict[tuple[str, str], list[Any]] = {}  # -> [count since said, last]

    def refused(self, kind: str, client: str, message: str) -> None:
        key = (kind, client)
        if key not in self.open and len(self.open) >= MAX_OPEN:
            key = (kind, "others")
        counted = self.open.get(key)
        if counted is not None:
            counted[0] += 1
            counted[1] = message
            return
        self.open[key] = [0, message]
        self.log.info("%s from %s: %s (more are counted for %g s)", kind, key[1], message,
                      self.window)  # fmt: skip
        self._later(key)

    def _later(self, key: tuple[str, str]) -> None:
        (self._loop or asyncio.get_running_loop()).call_later(self.window, self._said, key)

    def _said(self, key: tuple[str, str]) -> None:
        counted = self.open.get(key)
        if counted is None:
            return
        if counted[0] == 0:
            del self.open[key]  # a quiet window: the episode is over
            return
        self.log.info("%s from %s: %d more in the last %g s (the last: %s)", key[0], key[1],
                      counted[0], self.window, counted[1])  # fmt: skip
        counted[0] = 0
        self._later(key)

    def close(self) -> None:
        """The server stops: the counts not said yet are said now (they were lost with
        the window's timer)."""
        for (kind, client), (count, last) in self.open.items():
            if count:
                self.log.info("%s from %s: %d more until the server stopped (the last: %s)",
                              kind, client, count, last)  # fmt: skip
        self.open.clear()


def refused_middleware(refusals: Refusals) -> Any:
    """Outside the error middleware, so that it sees every final status."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            if exc.status in REFUSED:
                refusals.refused(_kind(request, exc.status), request.remote or "", exc.reason)
            raise
        if response.status in REFUSED:
            message = response.text if isinstance(response, web.Response) else None
            refusals.refused(
                _kind(request, response.status), request.remote or "", (message or "")[:200]
            )
        return response

    return middleware


def _kind(request: web.Request, status: int) -> str:
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path[:100]
    return f"HTTP {status} to {request.method} {path}"
