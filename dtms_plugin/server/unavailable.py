"""Requests the server cannot serve now (its store is away, its engine stopped): each is a
503, and while it lasts every host asks again every cycle, so a line per request was the
same ERROR many times a second (docs/scaling.md "Failures"). Said once per route when it
starts (ERROR, with why), counted while it lasts (DEBUG), and said once more with the
count when that route answers again. Per route, not per server: with Redis refusing
writes only, the reads answer while the registrations fail, and an episode that any
success ended would start again at the next failure.

The error middleware (``middleware.py``) calls :func:`unavailable` for each such 503 and
:func:`answered` for each answer; each app keeps its own episodes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from aiohttp import web

log = logging.getLogger("dtms_plugin.server")


@dataclass
class _Episode:
    why: str
    since: float = field(default_factory=time.time)
    requests: int = 1


class Episodes:
    """The routes of one app that answer 503 now, each with its episode."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger
        self.open: dict[str, _Episode] = {}

    def failed(self, route: str, why: str) -> None:
        episode = self.open.get(route)
        if episode is not None:
            episode.requests += 1
            self.log.debug("%s: %s (still)", route, why)
            return
        self.open[route] = _Episode(why)
        self.log.error("%s: %s (said once until %s answers again)", route, why, route)

    def answered(self, route: str) -> None:
        episode = self.open.pop(route, None)
        if episode is None:
            return
        self.log.warning(
            "%s answers again, after %d requests answered 503 over %.0f s (%s)",
            route,
            episode.requests,
            time.time() - episode.since,
            episode.why,
        )


_BY_APP: WeakKeyDictionary[web.Application, Episodes] = WeakKeyDictionary()


def _episodes(request: web.Request) -> Episodes:
    found = _BY_APP.get(request.app)
    if found is None:
        found = _BY_APP[request.app] = Episodes()
    return found


def _route(request: web.Request) -> str:
    """``GET /dtms/trade/{ticket}``: one episode for every ticket's requests."""
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else request.path}"


def unavailable(request: web.Request, exc: Exception) -> None:
    """``request`` is answered 503 because of ``exc`` (a store or engine error)."""
    _episodes(request).failed(_route(request), str(exc))


def answered(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """``request`` was answered (below 500): its route's episode, if any, ends."""
    if response.status < 500:
        _episodes(request).answered(_route(request))
    return response
