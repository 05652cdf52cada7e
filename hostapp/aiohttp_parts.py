"""The few aiohttp internals the host's web layer relies on, in one place.

aiohttp has no public hook to change how its connections answer protocol errors, to
bound the time a request takes to arrive, or to see when a connection's request has
been read in full (:mod:`.web_errors`, :mod:`.web_connections`). What those modules
need of aiohttp's insides is here, each read checked by
tests/hostapp_plugins/test_aiohttp_parts.py against the aiohttp installed: an aiohttp
that renames one fails that test, not a server in production.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import StreamReader, web
from aiohttp.web_protocol import RequestHandler

H = TypeVar("H", bound=RequestHandler)


def requests_parsed(handler: RequestHandler) -> int:
    """How many requests (their request line and headers) the connection has parsed."""
    return int(handler._request_count)


def bodies_since(handler: RequestHandler, parsed_before: int) -> list[StreamReader]:
    """The bodies of the requests parsed since :func:`requests_parsed` said
    ``parsed_before``, called right after ``data_received`` (they wait in the
    connection's queue until its task takes them, which needs the event loop)."""
    new = requests_parsed(handler) - parsed_before
    if new <= 0:
        return []
    queued = list(handler._messages)[-new:]
    return [payload for _message, payload in queued]


def build_handler(server: web.Server, cls: type[H], **extra: Any) -> H:
    """A connection of class ``cls`` (a ``RequestHandler``), built with what the server
    was given for its connections (the runner's keyword arguments), and ``extra``."""
    return cls(server, loop=server._loop, **server._kwargs, **extra)


def upgraded(handler: RequestHandler) -> bool:
    """Whether the connection was upgraded (a WebSocket): its bytes are frames now, read
    by the upgraded protocol's parser, no more requests."""
    return handler._payload_parser is not None or bool(handler._upgraded)
