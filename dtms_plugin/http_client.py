"""The HTTP side of the remote strategy: its routes on the public client's pooled
connection (:mod:`dtms_plugin.client.http`), and the delivery policy of the outbox:
:func:`deliver_batch` for pending registrations (``POST /dtms/trades``, one outcome per
registration) and :func:`deliver` for one entry (a close, an unregistration, or a
registration to a server without the batch route). What each answer means for an entry
is :mod:`dtms_plugin.delivery_answers`; when to send lives in ``remote.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from .client.http import (
    BAD_URL_ERRORS,
    CONNECTION_LIMIT,
    TRANSIENT_ERRORS,
    TRANSIENT_STATUSES,
    Connection,
    Reply,
    describe,
)
from .delivery_answers import Outcome, attempt_level, judge, judge_item

__all__ = [
    "BAD_URL_ERRORS",
    "CONNECTION_LIMIT",
    "TRANSIENT_ERRORS",
    "TRANSIENT_STATUSES",
    "RemoteApi",
    "Reply",
    "deliver",
    "deliver_batch",
    "describe",
    "tickets_text",
]

#: Waits before the retries of one delivery (first try, then after 1, 2 and 4 s).
BACKOFF_SECONDS = (1.0, 2.0, 4.0)
#: Added to each wait: ``rand() * JITTER_SECONDS``, so many clients do not retry in step.
JITTER_SECONDS = 0.5
#: Registrations per ``POST /dtms/trades`` (the server takes at most 200).
BATCH_LIMIT = 200


class RemoteApi(Connection):
    """The remote strategy's calls, on one pooled connection with two timeouts."""

    def __init__(
        self,
        api_url: str,
        *,
        token: str | None,
        register_timeout: float,
        query_timeout: float,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__(api_url, token=token, timeout=register_timeout)
        self._register_timeout = register_timeout
        self._query_timeout = query_timeout
        self.log = log or logging.getLogger("dtms_plugin.http_client")
        #: Set once a bad URL has been reported at ERROR, so it is not repeated each cycle.
        self.bad_url_reported = False
        #: False once the server answered the batch route with 404/405 (an older server):
        #: registrations then go one by one to ``/dtms/trade/enable``.
        self.batch_supported = True

    async def enable(self, registration: Mapping[str, Any]) -> Reply:
        """POST /dtms/trade/enable (idempotent by ticket on the server)."""
        return await self.request(
            "POST", "/dtms/trade/enable", json_body=dict(registration),
            timeout=self._register_timeout,
        )  # fmt: skip

    async def enable_many(self, registrations: list[Mapping[str, Any]]) -> Reply:
        """POST /dtms/trades: many registrations, one result each."""
        body = {"trades": [dict(r) for r in registrations]}
        return await self.request(
            "POST", "/dtms/trades", json_body=body, timeout=self._register_timeout
        )

    async def closed(self, ticket: int, report: Mapping[str, Any]) -> Reply:
        """POST /dtms/trade/{ticket}/closed: the server keeps the trade with its outcome."""
        return await self.request(
            "POST", f"/dtms/trade/{ticket}/closed", json_body=dict(report),
            timeout=self._register_timeout,
        )  # fmt: skip

    async def unregister(self, ticket: int) -> Reply:
        return await self.request("DELETE", f"/dtms/trade/{ticket}", timeout=self._register_timeout)

    async def trade(self, ticket: int) -> Reply:
        return await self.request("GET", f"/dtms/trade/{ticket}", timeout=self._query_timeout)

    async def health(self) -> Reply:
        """GET /health: does the server answer, and is it healthy (asked at start-up)."""
        return await self.request("GET", "/health", timeout=self._query_timeout)

    async def status(self) -> Reply:
        """GET /dtms/status: the account mode, and the answer to this host's token."""
        return await self.request("GET", "/dtms/status", timeout=self._query_timeout)

    async def trades(self, tickets: Iterable[int]) -> Reply:
        """GET /dtms/trades?tickets=1,2,3: the states of many trades in one request."""
        joined = ",".join(str(t) for t in tickets)
        return await self.request(
            "GET", "/dtms/trades", params={"tickets": joined}, timeout=self._query_timeout
        )

    async def actions(self, ticket: int, limit: int) -> Reply:
        """GET /dtms/actions?ticket=T&limit=N: the newest N entries of T's history."""
        params = {"ticket": str(ticket), "limit": str(limit)}
        return await self.request(
            "GET", "/dtms/actions", params=params, timeout=self._query_timeout
        )


def _registration(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("kind", "close")}


def _report_bad_url(
    client: RemoteApi, log: logging.Logger, what: str, url: str, exc: BaseException
) -> None:
    level = logging.DEBUG if client.bad_url_reported else logging.ERROR
    client.bad_url_reported = True
    log.log(
        level, "DTMS %s: %s is not a usable URL (%s); check api_url; kept in the outbox",
        what, url, describe(exc),
    )  # fmt: skip


async def deliver_batch(
    client: RemoteApi,
    entries: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    sleep: Callable[[float], Awaitable[Any]],
    rand: Callable[[], float],
    log: logging.Logger,
    token_env: str,
    on_retry: Callable[[], None] | None = None,
    quiet: bool = False,
    refusing: Container[int] = frozenset(),
) -> dict[int, Outcome]:
    """Send pending registrations in one ``POST /dtms/trades``: first try, then retries
    after 1, 2, 4 s (+ jitter) while the whole request fails transiently. Each
    registration is then judged on its own result, as a single delivery would be.
    ``quiet``: the server is known not to answer (:mod:`dtms_plugin.remote_health`
    said so once), so failed attempts are logged at DEBUG; ``refusing``: registrations
    whose refusal by the server was said at an earlier pass, logged at DEBUG too."""
    url = client.url("/dtms/trades")
    what = f"registration of {tickets_text([t for t, _ in entries])}"
    attempts = len(BACKOFF_SECONDS) + 1
    for attempt in range(1, attempts + 1):
        try:
            reply = await client.enable_many([_registration(p) for _, p in entries])
        except BAD_URL_ERRORS as exc:
            _report_bad_url(client, log, what, url, exc)
            return {t: "down" for t, _ in entries}
        except TRANSIENT_ERRORS as exc:
            log.log(
                attempt_level(quiet, attempt),
                "DTMS %s: POST %s failed (attempt %d/%d): %s",
                what, url, attempt, attempts, describe(exc),
            )  # fmt: skip
        else:
            if reply.status in (404, 405):  # a server without the batch route
                client.batch_supported = False
                return {}
            results = reply.body.get("results") if isinstance(reply.body, dict) else None
            if reply.ok and isinstance(results, list) and len(results) == len(entries):
                return {
                    ticket: judge_item(
                        "register", ticket, url, item, log, token_env, ticket in refusing
                    )
                    for (ticket, _), item in zip(entries, results, strict=True)
                }
            outcome = judge("register", what, url, reply, attempt, attempts, log, token_env,
                             quiet)  # fmt: skip
            if outcome is not None:  # the request itself refused: the same for all
                return {t: outcome for t, _ in entries}
        if attempt < attempts:
            if on_retry is not None:
                on_retry()
            await sleep(BACKOFF_SECONDS[attempt - 1] + rand() * JITTER_SECONDS)
    # the caller says the server is down, once an episode (dtms_plugin/remote_health.py)
    log.debug("DTMS %s to %s failed after %d attempts; kept in the outbox", what, url, attempts)
    return {t: "down" for t, _ in entries}


def tickets_text(tickets: list[int], shown: int = 5) -> str:
    """``ticket 7``, ``tickets 7, 8`` or ``tickets 1, 2, 3, 4, 5 and 195 more``: every
    failure names its tickets, a long batch the first few."""
    if len(tickets) == 1:
        return f"ticket {tickets[0]}"
    text = ", ".join(str(t) for t in tickets[:shown])
    more = len(tickets) - shown
    return f"tickets {text}" + (f" and {more} more" if more > 0 else "")


async def deliver(
    client: RemoteApi,
    ticket: int,
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], Awaitable[Any]],
    rand: Callable[[], float],
    log: logging.Logger,
    token_env: str,
    on_retry: Callable[[], None] | None = None,
    quiet: bool = False,
) -> Outcome:
    """Send one outbox entry: first try, then retries after 1, 2, 4 s (+ jitter).

    ``on_retry`` is called once per retried attempt, just before its backoff wait (the
    client's registration-retries metric); it does not change the policy. ``quiet``: as
    for :func:`deliver_batch`."""
    kind = str(payload.get("kind", "register"))
    if kind == "register":
        method, url = "POST", client.url("/dtms/trade/enable")
    elif kind == "closed":
        method, url = "POST", client.url(f"/dtms/trade/{ticket}/closed")
    else:
        method, url = "DELETE", client.url(f"/dtms/trade/{ticket}")
    attempts = len(BACKOFF_SECONDS) + 1
    answered = False  # a reply came: the server is up, this entry is what it refuses
    for attempt in range(1, attempts + 1):
        try:
            reply = await _send(client, kind, ticket, payload)
        except BAD_URL_ERRORS as exc:
            _report_bad_url(client, log, f"{kind} of ticket {ticket}", url, exc)
            return "down"
        except TRANSIENT_ERRORS as exc:
            log.log(
                attempt_level(quiet, attempt),
                "DTMS %s of ticket %s: %s %s failed (attempt %d/%d): %s",
                kind, ticket, method, url, attempt, attempts, describe(exc),
            )  # fmt: skip
        else:
            answered = True
            what = f"{kind} of ticket {ticket}"
            outcome = judge(kind, what, url, reply, attempt, attempts, log, token_env, quiet)
            if outcome is not None:
                return outcome
        if attempt < attempts:
            if on_retry is not None:
                on_retry()
            await sleep(BACKOFF_SECONDS[attempt - 1] + rand() * JITTER_SECONDS)
    # a server that answered refused this entry: said here; one that did not is down,
    # which the caller says once an episode (dtms_plugin/remote_health.py)
    log.log(
        logging.ERROR if answered and not quiet else logging.DEBUG,
        "DTMS %s of ticket %s to %s failed after %d attempts; kept in the outbox, tried "
        "again every cycle (said again when it is delivered)",
        kind, ticket, url, attempts,
    )  # fmt: skip
    return "busy" if answered else "down"


async def _send(client: RemoteApi, kind: str, ticket: int, payload: Mapping[str, Any]) -> Reply:
    if kind == "register":
        return await client.enable(_registration(payload))
    if kind != "closed":
        return await client.unregister(ticket)
    fields = ("reason", "profit", "closed_at", "close_price")
    report = {k: payload[k] for k in fields if payload.get(k) is not None}
    reply = await client.closed(ticket, report)
    registration = payload.get("register")
    if reply.status == 404 and isinstance(registration, Mapping):
        # it closed before its registration reached the server: register it, then close
        # it, so the server keeps its history too
        first = await client.enable(_registration(registration))
        if not first.ok:
            return first
        reply = await client.closed(ticket, report)
    return reply
