"""The HTTP side of the remote strategy: a thin aiohttp client for the DTMS API server (one
pooled session, explicit timeouts, connection limits) and :func:`deliver`, the retry policy
for one outbox entry. The outbox itself, and when to send, live in ``remote.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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

#: Exceptions meaning the URL itself is unusable (``api_url`` bypassed the settings'
#: checks): no retry can help, so a delivery fails at once and stays in the outbox.
BAD_URL_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
    ValueError,
)

#: Waits before the retries of one delivery (first try, then after 1, 2 and 4 s).
BACKOFF_SECONDS = (1.0, 2.0, 4.0)
#: Added to each wait: ``rand() * JITTER_SECONDS``, so many clients do not retry in step.
JITTER_SECONDS = 0.5
#: 4xx answers that indict our configuration (token, URL), not the registration: kept.
CONFIG_STATUSES = frozenset({401, 403, 404, 405})

#: What became of one outbox entry: delivered/dropped leave the outbox; pending stays
#: (this entry's problem); down stays and ends the pass (the server's problem).
Outcome = Literal["delivered", "dropped", "pending", "down"]

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
        #: Set once a bad URL has been reported at ERROR, so it is not repeated each cycle.
        self.bad_url_reported = False

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


async def deliver(
    client: DtmsClient,
    ticket: int,
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], Awaitable[Any]],
    rand: Callable[[], float],
    log: logging.Logger,
    token_env: str,
    on_retry: Callable[[], None] | None = None,
) -> Outcome:
    """Send one outbox entry: first try, then retries after 1, 2, 4 s (+ jitter).

    ``on_retry`` is called once per retried attempt, just before its backoff wait (the
    client's registration-retries metric); it does not change the policy."""
    kind = str(payload.get("kind", "register"))
    if kind == "register":
        body = {k: v for k, v in payload.items() if k != "kind"}
        url = client.url("/dtms/trade/enable")
    else:
        url = client.url(f"/dtms/trade/{ticket}")
    attempts = len(BACKOFF_SECONDS) + 1
    for attempt in range(1, attempts + 1):
        try:
            if kind == "register":
                reply = await client.enable(body)
            else:
                reply = await client.unregister(ticket)
        except BAD_URL_ERRORS as exc:
            level = logging.DEBUG if client.bad_url_reported else logging.ERROR
            client.bad_url_reported = True
            log.log(
                level,
                "DTMS %s of ticket %s: %s is not a usable URL (%s); check api_url;"
                " kept in the outbox",
                kind, ticket, url, describe(exc),
            )  # fmt: skip
            return "down"
        except TRANSIENT_ERRORS as exc:
            log.warning(
                "DTMS %s of ticket %s: %s %s failed (attempt %d/%d): %s",
                kind, ticket, "POST" if kind == "register" else "DELETE", url,
                attempt, attempts, describe(exc),
            )  # fmt: skip
        else:
            outcome = _judge(kind, ticket, url, reply, attempt, attempts, log, token_env)
            if outcome is not None:
                return outcome
        if attempt < attempts:
            if on_retry is not None:
                on_retry()
            await sleep(BACKOFF_SECONDS[attempt - 1] + rand() * JITTER_SECONDS)
    log.error(
        "DTMS %s of ticket %s to %s failed after %d attempts; kept in the outbox",
        kind, ticket, url, attempts,
    )  # fmt: skip
    return "down"


def _judge(
    kind: str,
    ticket: int,
    url: str,
    reply: Reply,
    attempt: int,
    attempts: int,
    log: logging.Logger,
    token_env: str,
) -> Outcome | None:
    """What one answer means; ``None``: transient, try again."""
    status = reply.status
    if reply.ok or (kind == "unregister" and status == 404):
        if attempt > 1:
            log.info("DTMS %s of ticket %s succeeded on attempt %d", kind, ticket, attempt)
        return "delivered"
    if status in TRANSIENT_STATUSES:
        log.warning(
            "DTMS %s of ticket %s: %s answered %d (attempt %d/%d): %s",
            kind, ticket, url, status, attempt, attempts, reply.message,
        )  # fmt: skip
        return None
    if status in CONFIG_STATUSES:
        log.error(
            "DTMS %s of ticket %s: %s answered %d: %s; check api_url and the %s token;"
            " kept in the outbox",
            kind, ticket, url, status, reply.message, token_env,
        )  # fmt: skip
        return "down"
    if 400 <= status < 500:
        log.error(
            "DTMS %s of ticket %s rejected by %s with %d: %s; dropped from the outbox"
            " as undeliverable",
            kind, ticket, url, status, reply.message,
        )  # fmt: skip
        return "dropped"
    log.error(
        "DTMS %s of ticket %s: %s answered %d: %s; kept in the outbox for the next cycle",
        kind, ticket, url, status, reply.message,
    )  # fmt: skip
    return "pending"
