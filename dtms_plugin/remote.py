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
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from hookspecs import BrokerError, HostView, Trade, masked_url

from .client.http import token_from_env
from .defensive import StateCache, answer
from .http_client import (
    BAD_URL_ERRORS,
    TRANSIENT_ERRORS,
    RemoteApi,
    describe,
)
from .metrics import ClientMetrics
from .remote_entries import EntryRules
from .remote_health import ServerHealth
from .remote_outbox import OPEN_KEY, OutboxPasses
from .remote_settings import warning as settings_warning
from .remote_states import BATCH_SIZE, REFRESH_GAP, RemoteStates
from .remote_store import MemoryStates, StoreEpisode

__all__ = ["BATCH_SIZE", "LOCK_WAIT_SECONDS", "REFRESH_GAP", "RemoteStrategy"]
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol
from .store.location import open_store

#: How long a write of this host's directory store waits for another writer's lock: the
#: folder may be a ``dtms serve``'s (the same ``state_dir``: README.md), and the store's
#: own 5 s, on the event loop, held every hook past its deadline (a cycle counted as
#: DTMS's failure towards its breaker) while the cause was one store line among them.
#: What it writes is a cache (the states, asked again next cycle) and the outbox (kept in
#: memory and sent meanwhile, stored at the next pass): a refused write costs a cycle.
LOCK_WAIT_SECONDS = 1.0

#: the control characters the server refuses in a registration's comment
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class RemoteStrategy(EntryRules, OutboxPasses, RemoteStates):
    """Implements :class:`dtms_plugin.strategy.Strategy` against a DTMS API server."""

    name = "remote"

    def __init__(
        self,
        settings: DtmsSettings,
        *,
        store: StoreProtocol | None = None,
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
        self._client: RemoteApi | None = None
        self._open: set[int] = set()  # tickets registered and not closed
        self._closed: dict[int, None] = {}  # the newest closed tickets (CLOSED_KEPT)
        self._wanted: set[int] = set()  # asked about by is_defensive; refresh them soon
        self._volatile: dict[int, dict[str, Any]] = {}  # outbox entries the store refused
        self._delivered: dict[int, dict[str, Any]] = {}  # delivered, removal not yet stored
        self._refusing: dict[int, int] = {}  # answered but not taken: passes in a row
        self._closes_unknown = 0  # closes answered 404: no record of the trade there
        self._closes_unknown_last: list[int] = []
        self._handed = 0  # registrations the server took: the run's account of activity
        self._handed_again: set[int] = set()  # registered anew: the server had lost them
        self._again: set[int] = set()  # of those, the server's answer awaited
        self._again_delivered: list[int] = []  # taken, not yet said (remote_outbox)
        self._uncounted: set[int] = set()  # closes queued, not delivered (allow_order)
        self._uncounted_said = False
        self._symbols: dict[int, str] = {}  # ticket -> symbol, of the trades handed
        self._hedged: set[int] = set()  # HEDGED on the server, as last refreshed
        self._slow_flushes = 0  # cycles in a row that waited for the outbox in vain
        self._failed_passes: tuple[int, str] = (0, "")  # outbox passes that raised, why
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_not_before: datetime | None = None
        self._last_mode_ask: datetime | None = None  # the last GET /dtms/status
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self._host: HostView | None = None
        #: The states this host's trades reached on the server (seen by a refresh or a
        #: close), for the run's summary: state -> trades; and per ticket still held.
        self._reached: Counter[str] = Counter()
        self._reached_by: dict[int, set[str]] = {}
        #: per ticket, what its plugins were told of the server's history (RemoteEvents)
        self._cursors: dict[int, dict[str, Any]] = {}
        self._incomplete: dict[int, tuple[str, int]] = {}
        self._held_said: set[int] = set()  # CLOSED there, listed open here: said once
        self._actions_heard = 0  # the server's actions told to this host's plugins
        #: the store out of reach (a Redis down): an episode, said once (remote_store)
        self._store_down = StoreEpisode(self._store_where, self.log)
        self._memory = MemoryStates()  # the states last learned, while it is away
        self._health = ServerHealth(
            masked_url(settings.api_url),
            self.log,
            self._now,
            last_known_seconds=settings.last_known_seconds,
        )

    # ------------------------------------------------------------------ lifecycle

    def _store_where(self) -> str:
        """The store as messages name it (a Redis URL without its password, a folder)."""
        store = self._store
        where = getattr(store, "where", None) or getattr(store, "directory", None)
        return str(where or self.settings.store or self.settings.state_dir)

    @property
    def store(self) -> StoreProtocol:
        if self._store is None:
            settings = self.settings
            self._store = open_store(
                settings.store, settings.state_dir, self.log, lock_wait=LOCK_WAIT_SECONDS
            )
        return self._store

    @property
    def metrics(self) -> ClientMetrics:
        """This host's client-side metrics (outbox depth over :attr:`store`, retries)."""
        if self._metrics is None:
            self._metrics = ClientMetrics(self.store)
        return self._metrics

    async def startup(self, host: HostView) -> None:
        store = self.store
        if self.settings.store:  # a Redis store defends one account (docs/scaling.md)
            from .redis_account import admit_host

            admit_host(store, host)
        self._host = host
        token = token_from_env(self.settings.token_env)
        self._client = RemoteApi(
            self.settings.api_url,
            token=token,
            register_timeout=self.settings.register_timeout_seconds,
            query_timeout=self.settings.query_timeout_seconds,
            log=self.log,
        )
        await self._client.open()
        await self._check_server()
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._flush_lock, self._refresh_lock = asyncio.Lock(), asyncio.Lock()
        saved = store.get_value(OPEN_KEY)
        if isinstance(saved, list):
            self._open.update(t for t in saved if isinstance(t, int))
        self._load_cursors()
        for ticket, payload in store.outbox_items():
            kind = payload.get("kind", "register")
            if kind == "register":
                self._open.add(ticket)
                self._symbols[ticket] = str(payload.get("symbol"))
            elif kind == "closed":  # counted by the server once delivered
                self._uncounted.add(ticket)
        self._seed_hedged(self._open)
        self._sender = self._spawn(self._send_forever(), "dtms-remote-sender")
        pending = store.outbox_len()
        if pending:
            self.log.info("DTMS outbox holds %d pending entries; resending", pending)
        self._kick()

    async def _check_server(self) -> None:
        """One ``GET /health`` at start-up: a server that does not answer is said now,
        in one line, not first when a trade is registered."""
        assert self._client is not None
        if not await self._health_answers("at start-up, "):
            return
        try:  # /health wants no token: ask what needs one, as every later request does
            asked = await self._client.status()
        except (*TRANSIENT_ERRORS, *BAD_URL_ERRORS) as exc:
            self._health.failed(f"at start-up, GET /dtms/status: {describe(exc)}", unanswered=True)
            return
        if asked.status in (401, 403):
            self._health.failed(
                f"at start-up, GET /dtms/status answered {asked.status}: {asked.message}; "
                f"check the token in {self.settings.token_env}",
                refused=True,
            )
        elif asked.ok:
            self._take_account_mode(asked.body)  # known before the first entry is asked
            body = asked.body if isinstance(asked.body, dict) else {}
            unused = settings_warning(self.settings, body.get("settings"))
            if unused is not None:
                self.log.warning("%s", unused)

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
            "magic": trade.magic,  # kept with the trade (its trade_info)
            # without control characters, which the server refuses (docs/client.md):
            # a position's comment must not keep it from being defended
            "comment": _CONTROL.sub("", trade.comment),
            # the broker's open time, not the server's arrival time: a registration
            # delivered late (the server was down) must not date the trade after its close
            "opened_at": trade.opened_at.isoformat(),
            # the host's own registration: it does not undo an operator's DELETE of the
            # position (the server answers 409 "trade unregistered", docs/client.md)
            "automatic": True,
        }
        self._open.add(trade.ticket)
        self._closed.pop(trade.ticket, None)
        self._symbols[trade.ticket] = trade.symbol
        self._uncounted.discard(trade.ticket)  # a close of its ticket queued is replaced
        self._follow(trade.ticket, trade.opened_at.isoformat())  # its history, to the plugins
        self._enqueue(trade.ticket, payload, save_open=True)
        self._kick()

    async def _hand_again(self, tickets: list[int]) -> None:
        """Open trades this host handed the server that it no longer knows (its store was
        replaced, emptied or lost): registered again from the broker's positions, once
        each (a server that refuses one keeps refusing), in one WARNING once the server
        took them (an operator's unregistration, refused with 409, is not: remote_outbox)."""
        host = self._host
        if host is None:
            return
        for ticket in tickets:
            if ticket in self._handed_again:
                continue
            try:
                position = host.broker.position(ticket)
            except BrokerError:
                continue  # asked again at the next refresh
            if position is not None:
                self._handed_again.add(ticket)
                self._again.add(ticket)
                await self.on_trade_executed(host, position)

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        """Report the close (reason, profit) instead of erasing the trade: the server
        keeps its history. A registration still in the outbox travels with the close,
        so a trade that closed before the server heard of it is kept too. A ticket this
        host never registered is not reported (another program's, on a shared account)."""
        ticket = trade.ticket
        pending = self._pending_registration(ticket)
        if ticket not in self._open and ticket not in self._closed and pending is None:
            # never registered here, nor seen CLOSED by a refresh (the server's engine saw
            # it go: the report still brings it the broker's reason and profit): another
            # program's position on a shared account (the host sees every one):
            # its close is that program's to report, and the server watches the broker
            # itself; this host's guess at the reason (the phase that found it gone)
            # would stand in the server's record if it arrived first
            self._wanted.discard(ticket)
            return
        payload: dict[str, Any] = {
            "kind": "closed",
            "ticket": ticket,
            "reason": reason,
            "profit": trade.profit,
            "closed_at": (trade.closed_at or self._now()).isoformat(),
            "close_price": trade.close_price,
        }
        if pending is not None:
            payload["register"] = pending
        self._open.discard(ticket)
        self._remember_closed((ticket,))
        self._wanted.discard(ticket)
        self._hedged.discard(ticket)
        self._told_closed(ticket)  # the server's history still told, its CLOSED not again
        self._enqueue(ticket, payload, save_open=True)
        self._uncounted.add(ticket)  # until delivered (:meth:`allow_order`)
        before = self._cached_state(ticket)
        # A failure is logged by the store; the in-memory closed set still answers.
        self._memory.put_states({ticket: "CLOSED"}, self._now())
        with suppress(StoreError):
            self.store.put_state(ticket, "CLOSED", self._now())
        await self._reached_state(ticket, before, "CLOSED", f"position closed ({reason})")
        self._kick()

    def _pending_registration(self, ticket: int) -> dict[str, Any] | None:
        payload = self._volatile.get(ticket)
        if payload is None:
            with suppress(StoreError):
                payload = dict(self.store.outbox_items()).get(ticket)
        if payload is not None and payload.get("kind", "register") == "register":
            return dict(payload)
        return None

    def quiet_cycle(self, now: datetime) -> bool:
        return False  # every cycle flushes the outbox and refreshes the states

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        """Flush the outbox (waiting at most ``flush_wait_seconds``, not at all while the
        server is not answering), then refresh. The store out of reach is an episode
        (:mod:`.remote_store`), never the cycle's failure: raised, it tripped the host's
        breaker and switched DTMS off for minutes over a Redis restart."""
        try:
            await self._cycle()
        except StoreError as exc:
            self._store_down.failed("the cycle", exc)

    async def _cycle(self) -> None:
        self._kick()
        if self._idle is not None and not self._health.down:
            try:
                await asyncio.wait_for(self._idle.wait(), self._flush_wait)
            except TimeoutError:
                self._slow_flushes += 1
                if self._slow_flushes == 1:  # once an episode: the end of it says how long
                    self.log.info(
                        "DTMS outbox flush still running (%d pending); refreshing anyway",
                        self.store.outbox_len(),
                    )
            else:
                if self._slow_flushes > 1:
                    self.log.info(
                        "DTMS outbox flushed, after %d cycles that waited for it",
                        self._slow_flushes,
                    )
                self._slow_flushes = 0
        await self.refresh()

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        """The cached answer, fresh by this process's clock (the stamps are its own);
        the account defensive mode by the host's, the trading clock the server dates
        the mode on (a paper account's data time, not today)."""
        now = self._now()
        at = host.clock.now()
        # the outbox pass asks the store while it is away, not the hot path; meanwhile the
        # documented answer (docs/dtms.md §9) from what was last learned, in memory
        cache: StateCache = self._memory if self._store_down.down else self.store
        try:
            defensive, refresh_needed = answer(cache, ticket, now, self.settings, at)
        except StoreError as exc:
            self._store_down.failed("reading the state cache", exc)
            defensive, refresh_needed = answer(self._memory, ticket, now, self.settings, at)
        if refresh_needed and ticket not in self._closed:
            self._schedule_refresh(ticket, now)
        return defensive

    # ------------------------------------------------------------------ outbox
