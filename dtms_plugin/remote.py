"""The remote DTMS strategy: the trades are defended by a DTMS API server; this process
registers them, keeps a local cache of their states and answers ``is_defensive`` from it.

Why an outbox: a registration must survive the server being down and this process
restarting. ``on_trade_executed`` only writes it to the store and wakes a background
sender, so the trading loop never waits on the network; the sender POSTs with retries and
removes an entry only once the server answered. The server is idempotent by ticket and the
outbox is keyed by ticket, so a resend after a crash registers nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from hookspecs import HostView, OrderRequest, Trade

from .defensive import answer
from .http_client import BAD_URL_ERRORS, TRANSIENT_ERRORS, DtmsClient, Outcome, deliver, describe
from .metrics import ClientMetrics
from .settings import DtmsSettings
from .store import Store, StoreError

#: Deliveries in flight at once during a flush (≤ the client's connection limit).
SEND_CONCURRENCY = 8
#: Tickets per batch query; keeps the URL far below aiohttp's 8 KiB request-line limit.
BATCH_SIZE = 200
#: Minimum gap between refreshes scheduled from the hot path (``is_defensive``).
REFRESH_GAP = timedelta(seconds=1)

_OPEN_KEY = "remote:open"
_DEFENSIVE = frozenset({"WARNING_L2", "HEDGED"})


class RemoteStrategy:
    """Implements :class:`dtms_plugin.strategy.Strategy` against a DTMS API server."""

    name = "remote"

    def __init__(
        self,
        settings: DtmsSettings,
        *,
        store: Store | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], datetime] | None = None,
        log: logging.Logger | None = None,
        flush_wait_seconds: float = 1.0,
        metrics: ClientMetrics | None = None,
    ) -> None:
        self.settings = settings
        self._metrics = metrics
        self._owns_metrics = metrics is None
        self.log = log or logging.getLogger("dtms_plugin.remote")
        self._store = store
        self._owns_store = store is None
        self._sleep = sleep
        self._rand = rand
        self._now = clock or (lambda: datetime.now(UTC))
        self._flush_wait = flush_wait_seconds
        self._client: DtmsClient | None = None
        self._open: set[int] = set()  # tickets registered and not closed
        self._closed: set[int] = set()
        self._wanted: set[int] = set()  # asked about by is_defensive; refresh them soon
        self._volatile: dict[int, dict[str, Any]] = {}  # outbox entries the store refused
        self._delivered: dict[int, dict[str, Any]] = {}  # delivered, removal not yet stored
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_not_before: datetime | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._refresh_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.state_dir, log=self.log)
        return self._store

    @property
    def metrics(self) -> ClientMetrics:
        """This host's client-side metrics (outbox depth over :attr:`store`, retries)."""
        if self._metrics is None:
            self._metrics = ClientMetrics(self.store)
        return self._metrics

    async def startup(self, host: HostView) -> None:
        store = self.store
        token = os.environ.get(self.settings.token_env) or None
        self._client = DtmsClient(
            self.settings.api_url,
            token=token,
            register_timeout=self.settings.register_timeout_seconds,
            query_timeout=self.settings.query_timeout_seconds,
            log=self.log,
        )
        await self._client.open()
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._flush_lock, self._refresh_lock = asyncio.Lock(), asyncio.Lock()
        saved = store.get_value(_OPEN_KEY)
        if isinstance(saved, list):
            self._open.update(t for t in saved if isinstance(t, int))
        for ticket, payload in store.outbox_items():
            if payload.get("kind", "register") == "register":
                self._open.add(ticket)
        self._sender = self._spawn(self._send_forever(), "dtms-remote-sender")
        pending = store.outbox_len()
        if pending:
            self.log.info("DTMS outbox holds %d pending entries; resending", pending)
        self._kick()

    async def shutdown(self, host: HostView) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None
            if self._owns_metrics:
                self._metrics = None  # they read the store just closed
        if self._volatile:
            self.log.error(
                "DTMS shutdown with %d registrations that could be neither stored nor sent:"
                " tickets %s",
                len(self._volatile),
                sorted(self._volatile),
            )

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("DTMS task %s crashed", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------ hooks

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        payload = {
            "kind": "register",
            "ticket": trade.ticket,
            "symbol": trade.symbol,
            "direction": trade.direction,
            "entry": trade.entry_price,
            "volume": trade.volume,
            "stop_loss": trade.stop_loss,
            "take_profit": trade.take_profit,
        }
        self._enqueue(trade.ticket, payload)
        self._open.add(trade.ticket)
        self._closed.discard(trade.ticket)
        self._save_open()
        self._kick()

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        ticket = trade.ticket
        self._enqueue(ticket, {"kind": "unregister", "ticket": ticket})
        self._open.discard(ticket)
        self._closed.add(ticket)
        self._wanted.discard(ticket)
        self._save_open()
        # A failure is logged by the store; the in-memory closed set still answers.
        with suppress(StoreError):
            self.store.put_state(ticket, "CLOSED", self._now())
        self._kick()

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        """Flush the outbox (waiting at most ``flush_wait_seconds``), then refresh."""
        self._kick()
        if self._idle is not None:
            try:
                await asyncio.wait_for(self._idle.wait(), self._flush_wait)
            except TimeoutError:
                self.log.info(
                    "DTMS outbox flush still running (%d pending); refreshing anyway",
                    self.store.outbox_len(),
                )
        await self.refresh()

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        now = self._now()
        defensive, refresh_needed = answer(self.store, ticket, now, self.settings)
        if refresh_needed and ticket not in self._closed:
            self._schedule_refresh(ticket, now)
        return defensive

    def allow_order(self, host: HostView, order: OrderRequest) -> str | None:
        mode = self.store.get_account_mode()
        if mode is not None and mode[0] > self._now():
            until, reason = mode
            return f"DTMS account defensive mode until {until.isoformat()}: {reason}"
        return None

    # ------------------------------------------------------------------ outbox

    def _enqueue(self, ticket: int, payload: dict[str, Any]) -> None:
        try:
            self.store.outbox_put(ticket, payload)
        except StoreError as exc:
            # Never lose it: keep it in memory so the sender still delivers it.
            self.log.error(
                "DTMS %s of ticket %s not persisted (%s); kept in memory only",
                payload["kind"],
                ticket,
                exc,
            )
            self._volatile[ticket] = payload
        else:
            self._volatile.pop(ticket, None)

    def _save_open(self) -> None:
        # A failure is logged by the store; the set is rebuilt from the outbox on restart.
        with suppress(StoreError):
            self.store.put_value(_OPEN_KEY, sorted(self._open))

    def _kick(self) -> None:
        if self._wake is not None and self._idle is not None:
            self._idle.clear()
            self._wake.set()

    async def drain(self) -> None:
        """Wait until the sender has nothing left to try now (tests, orderly shutdown)."""
        self._kick()
        if self._idle is not None:
            await self._idle.wait()

    async def _send_forever(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                self.log.exception("DTMS outbox flush failed; retried on the next cycle")
            if not self._wake.is_set():
                self._idle.set()

    async def flush(self) -> None:
        """One pass over the outbox, oldest first; stops early when the server is down."""
        assert self._flush_lock is not None
        async with self._flush_lock:
            items = dict(self.store.outbox_items())
            for ticket, payload in self._volatile.items():
                items.setdefault(ticket, payload)
            todo = [(t, p) for t, p in items.items() if self._delivered.get(t) != p]
            # The oldest entry goes alone: when the server is down, one entry walks the
            # backoff, not a whole window of them.
            starts = [0, *range(1, len(todo), SEND_CONCURRENCY)] if todo else []
            for start in starts:
                window = (
                    todo[start : start + 1]
                    if start == 0
                    else todo[start : start + SEND_CONCURRENCY]
                )
                outcomes = await asyncio.gather(*(self._deliver(t, p) for t, p in window))
                for (ticket, payload), outcome in zip(window, outcomes, strict=True):
                    if outcome in ("delivered", "dropped"):
                        self._forget(ticket, payload)
                if "down" in outcomes:
                    left = len(todo) - start - sum(o in ("delivered", "dropped") for o in outcomes)
                    self.log.error(
                        "DTMS server %s unreachable: %d outbox entries kept for the next cycle",
                        self.settings.api_url,
                        left,
                    )
                    return

    def _deliver(self, ticket: int, payload: dict[str, Any]) -> Coroutine[Any, Any, Outcome]:
        assert self._client is not None
        return deliver(
            self._client,
            ticket,
            payload,
            sleep=self._sleep,
            rand=self._rand,
            log=self.log,
            token_env=self.settings.token_env,
            on_retry=self.metrics.registration_retry,
        )

    def _forget(self, ticket: int, payload: dict[str, Any]) -> None:
        if self._volatile.get(ticket) == payload:
            del self._volatile[ticket]
        try:
            self.store.outbox_remove_if(ticket, payload)
        except StoreError:
            self._delivered[ticket] = payload  # do not resend while this process lives
        else:
            self._delivered.pop(ticket, None)

    # ------------------------------------------------------------------ state refresh

    def _schedule_refresh(self, ticket: int, now: datetime) -> None:
        """Coalesce hot-path refresh requests into one background batch query."""
        self._wanted.add(ticket)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here: the next on_cycle refreshes it
        if self._client is None or self._refresh_lock is None:
            return
        if self._refresh_task is not None and not self._refresh_task.done():
            return
        if self._refresh_not_before is not None and now < self._refresh_not_before:
            return
        self._refresh_not_before = now + REFRESH_GAP
        self._refresh_task = self._spawn(self.refresh(), "dtms-remote-refresh")

    async def refresh(self) -> None:
        """Fetch the states of all open (and asked-about) tickets in batched requests."""
        if self._client is None or self._refresh_lock is None:
            return
        async with self._refresh_lock:
            pending = {t for t, _ in self.store.outbox_items()} | set(self._volatile)
            wanted, self._wanted = self._wanted, set()
            tickets = sorted((self._open | wanted) - pending - self._closed)
            for start in range(0, len(tickets), BATCH_SIZE):
                chunk = tickets[start : start + BATCH_SIZE]
                if not await self._refresh_chunk(chunk):
                    self._wanted |= wanted & set(tickets[start:])  # asked again next time
                    return

    async def _refresh_chunk(self, tickets: list[int]) -> bool:
        assert self._client is not None
        url = self._client.url("/dtms/trades")
        try:
            reply = await self._client.trades(tickets)
        except TRANSIENT_ERRORS as exc:
            self.log.warning(
                "DTMS refresh of %d tickets: GET %s failed: %s", len(tickets), url, describe(exc)
            )
            return False
        except BAD_URL_ERRORS as exc:  # a configuration error: retrying cannot help
            self.log.error("DTMS refresh: GET %s: %s (check [plugin.dtms] api_url)", url, exc)
            return False
        trades = reply.body.get("trades") if isinstance(reply.body, dict) else None
        if not reply.ok or not isinstance(trades, dict):
            self.log.error(
                "DTMS refresh of tickets %s: GET %s answered %d: %s",
                tickets, url, reply.status, reply.message,
            )  # fmt: skip
            return False
        now = self._now()
        states: dict[int, str | None] = {}
        for key, entry in trades.items():
            state = entry.get("state") if isinstance(entry, dict) else None
            if not (isinstance(key, str) and key.isdigit() and isinstance(state, str)):
                self.log.error("DTMS refresh: malformed entry %r: %r from %s", key, entry, url)
                continue
            states[int(key)] = state
        unknown = reply.body.get("unknown", [])
        for ticket in unknown if isinstance(unknown, list) else []:
            if isinstance(ticket, int) and not isinstance(ticket, bool):
                states[ticket] = None
        # The server's batch marks every trade defensive while its account mode is on; with
        # no explicit "account_mode" in the answer, cache that verdict for the fresh window.
        account_hint = "account_mode" not in reply.body and any(
            isinstance(e, dict) and e.get("defensive") is True and e.get("state") not in _DEFENSIVE
            for e in trades.values()
        )
        try:
            self.store.put_states(states, now)
            self._store_account_mode(reply.body)
            if account_hint:
                until = now + timedelta(seconds=self.settings.fresh_seconds)
                self.store.put_account_mode(until, "the DTMS server reports account defensive mode")
        except StoreError:
            return False  # logged by the store
        newly_closed = {t for t, s in states.items() if s == "CLOSED"}
        if newly_closed & self._open:
            self._open -= newly_closed
            self._save_open()
        self._closed |= newly_closed
        return True

    def _store_account_mode(self, body: dict[str, Any]) -> None:
        """Optional ``"account_mode": {"until": iso, "reason": str} | null`` in a batch."""
        if "account_mode" not in body:
            return
        mode = body["account_mode"]
        if mode is None:
            self.store.put_account_mode(None, "cleared by the server")
            return
        until = mode.get("until") if isinstance(mode, dict) else None
        try:
            at = datetime.fromisoformat(until) if isinstance(until, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            self.log.error("DTMS refresh: malformed account_mode %r", mode)
            return
        self.store.put_account_mode(at, str(mode.get("reason", "")))
