"""A thin aiohttp client for the DTMS API server: one pooled session, explicit timeouts,
and a classification of what is worth retrying. Policy (retries, the outbox) lives in
``remote.py``; this module only talks HTTP, so it can be tested on its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

#: Statuses that say "try again later", not "your request is wrong".
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

#: Exceptions meaning the request may not have reached the server, or its answer was lost.
#: A ``ClientTimeout`` total raises the builtin ``TimeoutError``, which is no ClientError.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    TimeoutError,
)

#: Per-host connection cap: enough for the sender's small concurrency plus a query.
CONNECTION_LIMIT = 8


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, body already read (so the connection is back in the pool)."""

    status: int
    body: Any  # decoded JSON, or None when the body is not JSON
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The server's own explanation: ``{"error": ...}`` when present, else the text."""
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"])
        return self.text[:300]


def describe(exc: BaseException) -> str:
    """A log-friendly one-liner; ``TimeoutError()`` has an empty message otherwise."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DtmsClient:
    """HTTP calls to one DTMS server. ``open`` inside a running loop; always ``close``."""

    def __init__(
        self,
        api_url: str,
        *,
        token: str | None,
        register_timeout: float,
        query_timeout: float,
        log: logging.Logger | None = None,
    ) -> None:
        self.base = api_url.rstrip("/")
        self._token = token
        self._register_timeout = aiohttp.ClientTimeout(total=register_timeout)
        self._query_timeout = aiohttp.ClientTimeout(total=query_timeout)
        self.log = log or logging.getLogger("dtms_plugin.http_client")
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is not None:
            return
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        connector = aiohttp.TCPConnector(limit=CONNECTION_LIMIT, limit_per_host=CONNECTION_LIMIT)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._register_timeout, headers=headers
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    async def enable(self, registration: Mapping[str, Any]) -> Reply:
        """POST /dtms/trade/enable (idempotent by ticket on the server)."""
        return await self._request(
            "POST",
            "/dtms/trade/enable",
            json_body=dict(registration),
            timeout=self._register_timeout,
        )

    async def unregister(self, ticket: int) -> Reply:
        return await self._request(
            "DELETE", f"/dtms/trade/{ticket}", timeout=self._register_timeout
        )

    async def trade(self, ticket: int) -> Reply:
        return await self._request("GET", f"/dtms/trade/{ticket}", timeout=self._query_timeout)

    async def trades(self, tickets: Iterable[int]) -> Reply:
        """GET /dtms/trades?tickets=1,2,3: the states of many trades in one request."""
        joined = ",".join(str(t) for t in tickets)
        return await self._request(
            "GET", "/dtms/trades", params={"tickets": joined}, timeout=self._query_timeout
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        timeout: aiohttp.ClientTimeout,
        json_body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request. Raises the ``TRANSIENT_ERRORS`` unchanged: the caller decides."""
        if self._session is None:
            raise RuntimeError("DtmsClient used before open() or after close()")
        async with self._session.request(
            method, self.url(path), json=json_body, params=params, timeout=timeout
        ) as resp:
            text = await resp.text()
            status = resp.status
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        return Reply(status, body, text)
