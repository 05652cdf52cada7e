"""``AsyncDtmsClient``: the DTMS API for a program with an event loop (docs/client.md).

The rules are the original DTMS's, which its bots relied on:

* registration retries transient failures three times, after 1, 2 and 4 s (each with up
  to 0.5 s of jitter), logs every failure with the ticket and returns what happened
  (never swallows it);
* ``is_defensive`` answers within a bounded time from a cache: fresh (≤ 10 s) → that
  answer; else ask the server (2 s timeout, one retry after 0.5 s); its 404 ``trade not
  found`` → False (not managed); server down → the last known answer (≤ 30 s) else
  False (docs/dtms.md §9). A server that refuses the question (a wrong token: 401, 403;
  a bad ticket: 400), and a URL where no DTMS server answers it (another 404, a page
  that is not DTMS JSON, a URL no request can use) are not a server that is down: they
  raise :class:`DtmsError`, or a program with a mistyped token or URL would be told,
  for ever, that every trade is free to touch;
* a close report retries as a registration does (it is idempotent: the server keeps
  the first), so a server restarting does not lose the trade's outcome.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .batch import register_batches
from .bodies import (
    DtmsClientUnusable,
    DtmsError,
    DtmsUnreachable,
    RegisterResult,
    by_ticket,
    closed_body,
    confirmed,
    failure,
    kept_instead,
    not_dtms,
    part_of,
    refusal,
    registration,
    result_of,
    ticket_in,
    ticket_unknown,
)
from .http import (
    DEFAULT_FRESH_SECONDS,
    DEFAULT_LAST_KNOWN_SECONDS,
    DEFAULT_QUERY_RETRY_SECONDS,
    DEFAULT_REGISTER_TIMEOUT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_ENV,
    REQUEST_ERRORS,
    Connection,
    NotUsableHere,
    Reply,
    seconds,
    token_from_env,
    url_from_env,
)
from .paging import every_trade

#: Waits before the retries of one registration (first try, then after 1, 2 and 4 s).
REGISTER_BACKOFF = (1.0, 2.0, 4.0)
#: Added to each of those waits: ``rand() * RETRY_JITTER``, so the many bots a server's
#: restart failed at once do not all retry in the same instant (as the outbox does).
RETRY_JITTER = 0.5
#: Trades per page of ``GET /dtms/trades`` (the most the server sends in one).
TRADES_PAGE = 1000
#: Tickets per ``GET /dtms/trades?tickets=``: keeps the URL far below 8 KiB.
QUERY_BATCH = 200


class AsyncDtmsClient:
    """Talks to one DTMS server; use ``async with`` (or ``await close()``).

    ``url``: default ``$DTMS_URL`` or http://127.0.0.1:8001; ``token``: default the
    ``token_env`` variable (``DTMS_TOKEN``). ``timeout`` bounds each question (2 s);
    ``register_timeout`` each try of a registration or close report (5 s: four tries
    and the waits between them are 27 to 28.5 s against a server that never answers);
    ``fresh_seconds``, ``last_known_seconds`` and ``query_retry_seconds`` are
    ``is_defensive``'s cache and retry spans (10, 30, 0.5 s). Each is checked here: a
    timeout of 0 or None would be no bound at all (docs/client.md, "Options"). ``clock``
    (monotonic seconds), ``sleep`` and ``rand`` (the retries' jitter) are injectable for
    tests of those rules."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        token_env: str = DEFAULT_TOKEN_ENV,
        timeout: float = DEFAULT_TIMEOUT,
        register_timeout: float = DEFAULT_REGISTER_TIMEOUT,
        fresh_seconds: float = DEFAULT_FRESH_SECONDS,
        last_known_seconds: float = DEFAULT_LAST_KNOWN_SECONDS,
        query_retry_seconds: float = DEFAULT_QUERY_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        log: logging.Logger | None = None,
    ) -> None:
        self.url = url_from_env(url)
        secret = token if token is not None else token_from_env(token_env)
        if secret is not None:
            secret = secret.strip()  # a secret file's trailing newline is no part of it
            if not secret.isprintable():
                raise ValueError("token: holds a control character; no HTTP header can carry it")
        self.timeout = seconds("timeout", timeout)
        self.register_timeout = seconds("register_timeout", register_timeout)
        self.fresh_seconds = seconds("fresh_seconds", fresh_seconds, zero_ok=True)
        self.last_known_seconds = seconds("last_known_seconds", last_known_seconds, zero_ok=True)
        self.query_retry_seconds = seconds("query_retry_seconds", query_retry_seconds, zero_ok=True)
        self._conn = Connection(self.url, token=secret or None, timeout=self.register_timeout)
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self.log = log or logging.getLogger("dtms_plugin.client")
        self._cache: dict[int, tuple[bool, float]] = {}  # ticket -> (defensive, when)

    async def __aenter__(self) -> AsyncDtmsClient:
        await self._conn.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._conn.close()

    @property
    def connection(self) -> Connection:
        return self._conn

    # ------------------------------------------------------------------ plumbing

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """One request; no answer is :class:`DtmsUnreachable` naming the URL, and every
        other failure a :class:`DtmsError` (never aiohttp's own: docs/client.md says
        ``except DtmsError`` catches every failure of a call). A redirect is no DTMS
        answer (:func:`~.bodies.not_dtms`): it is not followed."""
        if not self._conn.is_open:
            await self._conn.open()  # here, in the loop that will use it
        try:
            reply = await self._conn.request(
                method, path, json_body=json_body, params=params,
                timeout=self.timeout if timeout is None else timeout,
            )  # fmt: skip
        except NotUsableHere as exc:
            raise DtmsClientUnusable(str(exc)) from None
        except REQUEST_ERRORS as exc:
            seconds = timeout or self.timeout
            raise failure(exc, self._conn.shown, method, path, seconds) from exc
        redirect = 300 <= reply.status < 400
        if redirect or (not isinstance(reply.body, dict) and not reply.transient):  # a page
            raise not_dtms(self._conn.url(path), reply)
        return reply

    async def _backoff(self, seconds: float) -> None:
        """A wait before a retry of a registration or a close report, with its jitter."""
        await self._sleep(seconds + self._rand() * RETRY_JITTER)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        reply = await self.call(method, path, **kw)
        if not reply.ok:
            raise DtmsError(f"{method} {path}: {reply.status} {reply.message}", reply.status,
                            reply.body)  # fmt: skip
        return reply.body

    # ------------------------------------------------------------------ registration

    async def register(self, trade: Any) -> RegisterResult:
        """Register one trade (idempotent by ticket), retrying transient failures after 1,
        2 and 4 s. Every failure is logged with the ticket."""
        body = registration(trade)
        ticket = body.get("ticket")
        attempts = len(REGISTER_BACKOFF) + 1
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                reply = await self.call(
                    "POST", "/dtms/trade/enable", json_body=body, timeout=self.register_timeout
                )
            except DtmsUnreachable as exc:
                last = str(exc)
            except DtmsClientUnusable:
                raise  # this program's mistake, not the server's answer
            except DtmsError as exc:  # no DTMS server at the URL: no retry can help
                self.log.error("DTMS registration of ticket %s refused: %s", ticket, exc)
                return RegisterResult(ticket, "refused", exc.status, str(exc), exc.body)
            else:
                if not reply.transient:
                    result = result_of(ticket, reply, self._conn.url("/dtms/trade/enable"))
                    if result.outcome == "closed":  # final, and no failure: it closed
                        self.log.info("DTMS registration of ticket %s: %s", ticket,
                                      result.message)  # fmt: skip
                    elif not result.ok:
                        self.log.error(
                            "DTMS registration of ticket %s refused: %d %s",
                            ticket, reply.status, result.message,
                        )  # fmt: skip
                    return result
                last = f"{reply.status} {reply.message}"
            self.log.warning(
                "DTMS registration of ticket %s failed (attempt %d/%d): %s",
                ticket, attempt, attempts, last,
            )  # fmt: skip
            if attempt < attempts:
                await self._backoff(REGISTER_BACKOFF[attempt - 1])
        self.log.error("DTMS registration of ticket %s gave up: %s", ticket, last)
        return RegisterResult(ticket, "unreachable", None, last)

    async def register_many(self, trades: Iterable[Any]) -> list[RegisterResult]:
        """``POST /dtms/trades`` in chunks, one attempt each: one result per trade, in
        order. A chunk without an answer makes its trades ``unreachable`` (retrying is the
        caller's: the remote strategy's outbox)."""
        bodies = [registration(t) for t in trades]
        url = self._conn.url("/dtms/trades")
        return await register_batches(self.call, bodies, self.register_timeout, url)

    async def unregister(self, ticket: int) -> bool:
        """Stop managing ``ticket`` (an operator's action); False when it was unknown."""
        path = f"/dtms/trade/{ticket}"
        reply = await self.call("DELETE", path)
        if ticket_unknown(self._conn.url(path), reply):
            return False
        if not reply.ok:
            raise refusal(f"unregister {ticket}", reply)
        confirmed(self._conn.url(path), reply, None)  # a 200 saying success false: not done
        self._cache.pop(ticket, None)
        return True

    async def report_closed(
        self,
        ticket: int,
        reason: str = "closed",
        profit: float = 0.0,
        *,
        closed_at: datetime | str | None = None,
        close_price: float | None = None,
    ) -> dict[str, Any] | None:
        """Tell DTMS the position closed: the server keeps the trade with its outcome.
        None when the server does not know the ticket. No answer, or a transient one
        (503: a restarting server; 500: a failing one), is tried again after 1, 2 and
        4 s, then raised as :class:`DtmsUnreachable`: keep the close and send it again
        later. A 2xx is a recorded close only with ``success`` true and the trade's
        ``state``. A close already kept keeps its first outcome: the fields this report
        sent otherwise (the answer's ``not_applied``) are said in one WARNING."""
        body = closed_body(reason, profit, closed_at, close_price)
        path = f"/dtms/trade/{ticket}/closed"
        for wait in (*REGISTER_BACKOFF, None):
            try:
                reply = await self.call("POST", path, json_body=body, timeout=self.register_timeout)
            except DtmsUnreachable as exc:
                last: DtmsError = exc
            else:
                if ticket_unknown(self._conn.url(path), reply):
                    return None
                if reply.ok:
                    done = confirmed(self._conn.url(path), reply, "state", str)
                    self._cache.pop(ticket, None)
                    said = kept_instead(done, "already closed")  # its not_applied
                    if said:
                        self.log.warning("DTMS ticket %s: %s", ticket, said)
                    return dict(done)
                last = refusal(f"closed {ticket}", reply)
                if not reply.transient:
                    raise last
            self.log.warning("DTMS close report of ticket %s failed: %s", ticket, last)
            if wait is not None:
                await self._backoff(wait)
        raise DtmsUnreachable(str(last), last.status, last.body)

    # ------------------------------------------------------------------ queries

    async def state(self, ticket: int) -> dict[str, Any] | None:
        """The trade as the server shows it (``state``, ``defensive``, ``trade_info``…);
        None when the server does not manage it."""
        path = f"/dtms/trade/{ticket}"
        reply = await self.call("GET", path)
        if ticket_unknown(self._conn.url(path), reply):
            return None
        if not reply.ok:
            raise refusal(f"trade {ticket}", reply)
        trade = confirmed(self._conn.url(path), reply, "state", str)
        if "defensive" in trade:  # else no DTMS answer: is_defensive must ask itself
            self._remember(ticket, bool(trade["defensive"]))
        return dict(trade)

    async def states(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The states of many trades (batched); tickets the server does not know are
        left out."""
        wanted = sorted(set(tickets))
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), QUERY_BATCH):
            chunk = ",".join(str(t) for t in wanted[start : start + QUERY_BATCH])
            body = await self._json("GET", "/dtms/trades", params={"tickets": chunk})
            url = self._conn.url("/dtms/trades")
            for ticket, entry in by_ticket(url, part_of(url, body, "trades", dict)).items():
                out[ticket] = entry
                if isinstance(entry, dict) and "defensive" in entry:
                    self._remember(ticket, bool(entry["defensive"]))
            unknown = body.get("unknown", [])
            for ticket in unknown if isinstance(unknown, list) else [unknown]:
                self._remember(ticket_in(url, ticket, "unknown"), False)
        return out

    async def trades(self, state: str | None = None) -> dict[int, dict[str, Any]]:
        """Every trade the server keeps, open and closed (what the dashboard shows), or
        those in ``state``: the server filters them (``?state=``), so a large history
        is not sent to be dropped here. Keyed by the integer ticket, as :meth:`states`
        is: JSON's keys are text, and ``ticket in trades()`` should find a kept trade.
        Asked page by page from the last ticket read (:mod:`.paging`)."""

        async def page(params: dict[str, str]) -> Any:
            return await self._json("GET", "/dtms/trades", params=params)

        return await every_trade(page, self._conn.url("/dtms/trades"), state, TRADES_PAGE)

    async def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries of the history (of ``ticket``'s, or every trade's);
        the server sends at most 1000, however large ``limit`` is (docs/client.md)."""
        params = {"limit": str(limit)}
        if ticket is not None:
            params["ticket"] = str(ticket)
        body = await self._json("GET", "/dtms/actions", params=params)
        return list(part_of(self._conn.url("/dtms/actions"), body, "actions", list))

    async def status(self) -> dict[str, Any]:
        """``GET /dtms/status``: with its ``dtms_status`` (every DTMS server's, the
        original's too), else a :class:`DtmsError` naming the URL."""
        body = await self._json("GET", "/dtms/status")
        part_of(self._conn.url("/dtms/status"), body, "dtms_status", dict)
        return dict(body)

    async def health(self) -> dict[str, Any]:
        """``GET /health``: the engine's summary; a 503 (engine not running) is an answer
        too, and any other error status raises :class:`DtmsError`."""
        reply = await self.call("GET", "/health")
        if not reply.ok and reply.status != 503:
            raise DtmsError(f"GET /health: {reply.status} {reply.message}", reply.status)
        return dict(reply.body) if isinstance(reply.body, dict) else {"status": reply.text}

    # ------------------------------------------------------------------ is_defensive

    def _remember(self, ticket: int, defensive: bool) -> None:
        self._cache[ticket] = (defensive, self._clock())

    def cached(self, ticket: int, max_age: float) -> bool | None:
        """The cached answer when at most ``max_age`` seconds old, else None."""
        hit = self._cache.get(ticket)
        if hit is None or self._clock() - hit[1] > max_age:
            return None
        return hit[0]

    async def is_defensive(self, ticket: int) -> bool:
        """True while DTMS defends the trade (WARNING_L2, HEDGED, or account defensive
        mode): leave its stop and volume alone. See the module docstring for the rules."""
        fresh = self.cached(ticket, self.fresh_seconds)
        if fresh is not None:
            return fresh
        path = f"/dtms/trade/{ticket}"
        for attempt in (1, 2):
            try:
                reply = await self.call("GET", path, timeout=self.timeout)
            except DtmsUnreachable as exc:  # no answer; any other DtmsError is raised
                problem = str(exc)
            else:
                if ticket_unknown(self._conn.url(path), reply):
                    self._remember(ticket, False)
                    return False
                if reply.ok:  # a JSON object: call() refuses anything else
                    defensive = bool(part_of(self._conn.url(path), reply.body, "defensive", object))
                    self._remember(ticket, defensive)
                    return defensive
                if 400 <= reply.status < 500 and not reply.transient:  # refused, not down
                    raise refusal(f"is_defensive({ticket})", reply)
                problem = f"{reply.status} {reply.message}"
            if attempt == 1:
                await self._sleep(self.query_retry_seconds)
        known = self.cached(ticket, self.last_known_seconds)
        self.log.warning(
            "DTMS is_defensive(%s): %s; answering %s", ticket, problem,
            "the last known state" if known is not None else "False (nothing known)",
        )  # fmt: skip
        return bool(known)
