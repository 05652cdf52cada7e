"""Test-only compatibility shim: aioresponses 0.7.9 on aiohttp 3.14.

aiohttp 3.14 made ``stream_writer`` a required keyword of ``ClientResponse.__init__``;
aioresponses 0.7.9 builds its fake responses without it and fails with a TypeError. This
module supplies a response class that fills in a stand-in writer, and an ``aioresponses``
that uses it by default. Remove it once aioresponses supports aiohttp 3.14.

Remember what aioresponses is: it replaces ``ClientSession._request`` wholesale, so
timeouts, the connection pool, retries and middlewares of aiohttp are bypassed. Use it for
quick unit tests of request building and answer parsing only; test network behaviour
against a real loopback server (``fake_dtms_server``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aioresponses import aioresponses


class _NoWriter:
    """What ``ClientResponse`` reads from a writer when the request is already sent."""

    output_size = 0


class CompatClientResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NoWriter())
        super().__init__(method, url, **kwargs)


class compat_aioresponses(aioresponses):
    """``aioresponses`` whose mocked answers are :class:`CompatClientResponse` objects."""

    def add(self, url: Any, method: str = "GET", **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("response_class", CompatClientResponse)
        super().add(url, method, **kwargs)
