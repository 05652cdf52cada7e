"""One pass of the remote strategy's outbox sender: the pending entries, oldest first, to
the DTMS server; registrations in batches (``POST /dtms/trades``), the rest one by one.
An entry leaves the outbox only once the server answered for it. A mixin of
:class:`dtms_plugin.remote.RemoteStrategy`, apart so each file stays readable; the
strategy's ``__init__`` sets the attributes declared here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from typing import Any

from hookspecs import masked_url

from .delivery_answers import Outcome
from .http_client import BATCH_LIMIT, RemoteApi, deliver, deliver_batch
from .metrics import ClientMetrics
from .remote_health import ServerHealth
from .remote_store import StoreEpisode
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol

#: Deliveries in flight at once during a flush (≤ the client's connection limit).
SEND_CONCURRENCY = 8
#: tickets of closes the server had no record of, named in the run's report (the newest)
UNKNOWN_SHOWN = 5
#: The store value of the tickets registered and not closed (rebuilt at start-up).
OPEN_KEY = "remote:open"
#: outcomes that take an entry out of the outbox
_FINAL = frozenset({"delivered", "dropped", "unknown", "unregistered"})


class OutboxPasses:
    settings: DtmsSettings
    log: logging.Logger
    _client: RemoteApi | None
    _flush_lock: asyncio.Lock | None
    _volatile: dict[int, dict[str, Any]]
    _delivered: dict[int, dict[str, Any]]
    _handed: int
    _health: ServerHealth
    _uncounted: set[int]  # closes queued and not delivered (:mod:`.remote_entries`)
    #: entries the server answered but would not take (busy, 5xx), by ticket: passes in a
    #: row. Said when it starts (at ERROR) and when it is delivered, DEBUG between
    _refusing: dict[int, int]
    #: closes the server answered 404 (no record of the trade), for the run's report:
    #: how many, and the newest :data:`UNKNOWN_SHOWN` tickets
    _closes_unknown: int
    _closes_unknown_last: list[int]
    _sleep: Callable[[float], Awaitable[Any]]
    _rand: Callable[[], float]
    _open: set[int]
    _symbols: dict[int, str]
    _hedged: set[int]
    #: trades the server no longer knew, registered again (:meth:`_hand_again`), and of
    #: those sent, the server's answer awaited; delivered ones, to be said in one WARNING
    _handed_again: set[int]
    _again: set[int]
    _again_delivered: list[int]
    #: outbox passes that raised in a row (the store unreadable: every pass), and the
    #: last error: said once when it starts, with the count when a pass goes through
    _failed_passes: tuple[int, str]
    #: what is followed of the trades' histories, written (:mod:`.remote_events`); only
    #: annotated here, so the mixin that defines it is found whatever the bases' order
    _save_cursors: Callable[..., None]
    _store_down: StoreEpisode  # the store out of reach (remote_store)
    #: the sender task's signals: set to wake it for a pass; set by it when it has
    #: nothing left to try now (both made at start-up, inside the running loop)
    _wake: asyncio.Event | None
    _idle: asyncio.Event | None

    @property
    def store(self) -> StoreProtocol:
        raise NotImplementedError

    @property
    def metrics(self) -> ClientMetrics:
        raise NotImplementedError

    def _enqueue(self, ticket: int, payload: dict[str, Any], *, save_open: bool = False) -> None:
        """Queue ``payload``; with ``save_open``, the open set and what is followed of the
        trades' histories (:mod:`.remote_events`) go in the same store transaction (one
        commit per hook: a host registering a burst of trades pays one commit for each,
        not three). When that fails, each is written on its own; not when the store
        refused it whole (a folder locked: each would wait for the lock in vain)."""
        try:
            with self.store.batch():
                self.store.outbox_put(ticket, payload)
                if save_open:
                    self.store.put_value(OPEN_KEY, sorted(self._open))
                    self._save_cursors(ticket)
        except StoreError as exc:
            if exc.unavailable:
                self._keep(ticket, payload, exc)
                return
            self._put_entry(ticket, payload)
            if save_open:
                self._save_open()
                self._save_cursors(ticket)
        else:
            self._volatile.pop(ticket, None)

    def _put_entry(self, ticket: int, payload: dict[str, Any]) -> None:
        try:
            self.store.outbox_put(ticket, payload)
        except StoreError as exc:
            self._keep(ticket, payload, exc)
        else:
            self._volatile.pop(ticket, None)

    def _keep(self, ticket: int, payload: dict[str, Any], exc: StoreError) -> None:
        """Never lose it: kept in memory, the sender still delivers it, and each pass
        tries to store it (:meth:`_store_kept`). A store out of reach is said once for
        its episode (:mod:`.remote_store`), not once per entry."""
        self._volatile[ticket] = payload
        if exc.unavailable:
            self._store_down.failed("writing the outbox", exc)
            self.log.debug("DTMS %s of ticket %s kept in memory", payload["kind"], ticket)
            return
        self.log.error(
            "DTMS %s of ticket %s not persisted (%s); kept in memory, and stored when the "
            "store takes writes again",
            payload["kind"], ticket, exc,
        )  # fmt: skip

    def _outbox_items(self) -> list[tuple[int, dict[str, Any]]]:
        """The stored outbox; none while the store is out of reach (an episode, said
        once: :mod:`.remote_store`), when what is kept in memory is all there is to send."""
        try:
            items = self.store.outbox_items()
        except StoreError as exc:
            self._store_down.failed("reading the outbox", exc)
            return []
        self._store_down.back(len(self._volatile))
        return items

    def _store_kept(self) -> None:
        """The entries kept in memory (the store refused them) into the outbox, in one
        transaction, once it takes writes: a restart then still sends them."""
        kept = dict(self._volatile)
        if not kept:
            return
        try:
            with self.store.batch():
                for ticket, payload in kept.items():
                    self.store.outbox_put(ticket, payload)
        except StoreError:
            return  # said by the store; tried again next pass
        for ticket, payload in kept.items():
            if self._volatile.get(ticket) == payload:
                del self._volatile[ticket]

    def _save_open(self) -> None:
        # A failure is logged by the store; the set is rebuilt from the outbox on restart.
        with suppress(StoreError):
            self.store.put_value(OPEN_KEY, sorted(self._open))

    async def flush(self) -> None:
        """One pass over the outbox, oldest first; stops early when the server is down.
        Registrations go in batches (``POST /dtms/trades``), the rest one by one."""
        assert self._flush_lock is not None
        async with self._flush_lock:
            await self._flush_pass()
            self._say_again()

    async def _flush_pass(self) -> None:
        assert self._client is not None
        self._store_kept()
        items = dict(self._outbox_items())
        for ticket, payload in self._volatile.items():
            items.setdefault(ticket, payload)
        todo = [(t, p) for t, p in items.items() if self._delivered.get(t) != p]
        registrations = [(t, p) for t, p in todo if p.get("kind", "register") == "register"]
        others = [(t, p) for t, p in todo if p.get("kind", "register") != "register"]
        if registrations and self._client.batch_supported:
            if not await self._flush_batches(registrations):
                return
            registrations = [] if self._client.batch_supported else registrations
        if todo and await self._flush_each(registrations + others):
            self._health.answered()

    async def _flush_batches(self, todo: list[tuple[int, dict[str, Any]]]) -> bool:
        """False when the server is down (the pass ends)."""
        assert self._client is not None
        for start in range(0, len(todo), BATCH_LIMIT):
            chunk = todo[start : start + BATCH_LIMIT]
            outcomes = await deliver_batch(
                self._client, chunk, sleep=self._sleep, rand=self._rand, log=self.log,
                token_env=self.settings.token_env, on_retry=self.metrics.registration_retry,
                quiet=self._health.down, refusing=self._refusing.keys(),
            )  # fmt: skip
            if not self._client.batch_supported:
                return True  # an older server: the caller sends them one by one
            self._handed += sum(outcomes.get(t) == "delivered" for t, _ in chunk)
            for ticket, payload in chunk:
                self._note(ticket, payload, outcomes.get(ticket))
            self._forget_all([(t, p) for t, p in chunk if outcomes.get(t) in _FINAL])
            if "down" in outcomes.values():
                left = len(todo) - start - sum(o != "down" for o in outcomes.values())
                self._report_down(left)
                return False
        return True

    def _report_down(self, left: int) -> None:
        self._health.failed(f"{left} outbox entries kept for the next cycle")

    async def _flush_each(self, todo: list[tuple[int, dict[str, Any]]]) -> bool:
        """False when the server is down (the pass ends)."""
        # The oldest entry goes alone: when the server is down, one entry walks the
        # backoff, not a whole window of them. An entry the server keeps refusing while
        # it answers ("busy": a replica that cannot take that close) does not hold back
        # the others; a window refused whole, after it, is a server that takes nothing.
        starts = [0, *range(1, len(todo), SEND_CONCURRENCY)] if todo else []
        for start in starts:
            window = (
                todo[start : start + 1] if start == 0 else todo[start : start + SEND_CONCURRENCY]
            )
            outcomes = await asyncio.gather(*(self._deliver(t, p) for t, p in window))
            for (ticket, payload), outcome in zip(window, outcomes, strict=True):
                self._note(ticket, payload, outcome)
                kind = payload.get("kind", "register")
                if outcome == "delivered" and (kind == "register" or "register" in payload):
                    self._handed += 1  # alone, or with the close of a trade it never saw
                if outcome in _FINAL:
                    self._forget(ticket, payload)
            if "down" in outcomes or (start > 0 and all(o == "busy" for o in outcomes)):
                self._report_down(len(todo) - start - sum(o in _FINAL for o in outcomes))
                return False
        return True

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
        """The sender task: one outbox pass per wake-up; a pass that raised is said once
        for its episode, and the task goes on."""
        assert self._wake is not None and self._idle is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # said once for its episode (remote_outbox)
                self._pass_failed(exc)
            else:
                self._pass_back()
            if not self._wake.is_set():
                self._idle.set()

    def _pass_failed(self, exc: Exception) -> None:
        """A pass of the sender raised: the outbox waits for the next cycle. Said once at
        ERROR for its episode (the store's failure without a traceback: its message says
        it, and the store's own line too; anything else with it), at DEBUG while it lasts,
        and the host's ``/health`` names it (:meth:`outbox_problems`): a pass per cycle
        that fails alike was a traceback per cycle."""
        count = self._failed_passes[0] + 1
        self._failed_passes = (count, f"{type(exc).__name__}: {exc}")
        if count > 1:
            self.log.debug("DTMS outbox pass failed again: %s", exc)
            return
        self.log.error(
            "DTMS outbox pass failed (%s: %s): registrations and closes not delivered are "
            "kept (in the outbox, or in memory what the store refused) and tried again "
            "every cycle (said again when a pass goes through)",
            type(exc).__name__, exc, exc_info=None if isinstance(exc, StoreError) else exc,
        )  # fmt: skip

    def _pass_back(self) -> None:
        """A pass went through: the end of an episode of failed ones, said with its count."""
        failed = self._failed_passes[0]
        if failed:
            self._failed_passes = (0, "")
            passes = "1 failed pass" if failed == 1 else f"{failed} failed passes"
            self.log.warning("DTMS outbox passes go through again, after %s", passes)

    def outbox_problems(self) -> list[str]:
        """The outbox's sender failing now, for the host's ``/health``: nothing this host
        opens reaches the server meanwhile."""
        failed, error = self._failed_passes
        if not failed:
            return []
        passes = "pass" if failed == 1 else f"{failed} passes"
        return [f"the outbox cannot be sent: the last {passes} failed: {error}"]

    def _note(self, ticket: int, payload: dict[str, Any], outcome: Outcome | None) -> None:
        """Count a pass the server answered without taking the entry; say its delivery
        after such passes (the trouble itself was said at the first: :meth:`_deliver`
        is quiet about it from the second on)."""
        if ticket in self._again and outcome in ("delivered", "dropped", "unregistered"):
            self._again.discard(ticket)
            if outcome == "delivered":
                self._again_delivered.append(ticket)
        if outcome == "unregistered":
            self._leave_alone(ticket)
        if outcome == "unknown":
            self._closes_unknown += 1
            self._closes_unknown_last = [*self._closes_unknown_last, ticket][-UNKNOWN_SHOWN:]
        if outcome in ("busy", "pending"):
            self._refusing[ticket] = self._refusing.get(ticket, 0) + 1
        elif outcome in ("delivered", "dropped", "unknown", "unregistered"):
            passes = self._refusing.pop(ticket, 0)
            if passes and outcome == "delivered":
                self.log.warning(
                    "DTMS %s of ticket %s delivered, after %d passes the server did not take it",
                    payload.get("kind", "register"), ticket, passes,
                )  # fmt: skip

    def _leave_alone(self, ticket: int) -> None:
        """The server answered this host's registration of ``ticket`` 409 ``trade
        unregistered``: an operator unregistered the position (docs/client.md). It leaves
        the open set, persisted, so no refresh asks for it nor registers it again, and no
        restart does while the position is the same one (a new trade under the ticket is
        registered by ``on_trade_executed``)."""
        self._handed_again.discard(ticket)
        self._symbols.pop(ticket, None)
        self._hedged.discard(ticket)
        if ticket in self._open:
            self._open.discard(ticket)
            self._save_open()

    def _say_again(self) -> None:
        """The trades registered again that the server took, in one WARNING (not those
        it refused as unregistered by an operator: nothing was registered)."""
        again, self._again_delivered = self._again_delivered, []
        if again:
            self.log.warning(
                "DTMS server %s no longer knows %d open trades this host handed it (tickets "
                "%s): registered again", masked_url(self.settings.api_url), len(again),
                ", ".join(map(str, again)),
            )  # fmt: skip

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
            quiet=self._health.down or ticket in self._refusing,
        )

    def _forget_all(self, items: list[tuple[int, dict[str, Any]]]) -> None:
        """:meth:`_forget` for a delivered batch, in one store transaction; when that fails,
        entry by entry (each failure handled on its own), unless the store refused it
        whole (a folder locked: each would wait for the lock in vain)."""
        try:
            with self.store.batch():
                for ticket, payload in items:
                    self._forget(ticket, payload)
        except StoreError as exc:
            for ticket, payload in items:
                self._forget(ticket, payload, write=not exc.unavailable)

    def _forget(self, ticket: int, payload: dict[str, Any], *, write: bool = True) -> None:
        """``write`` False: the store refuses writes now; kept as delivered in memory."""
        if payload.get("kind") == "closed":  # the server has it (or never will: a 404)
            self._uncounted.discard(ticket)
        if self._volatile.get(ticket) == payload:
            del self._volatile[ticket]
        if not write:
            self._delivered[ticket] = payload  # do not resend while this process lives
            return
        try:
            self.store.outbox_remove_if(ticket, payload)
        except StoreError:
            self._delivered[ticket] = payload  # do not resend while this process lives
        else:
            self._delivered.pop(ticket, None)
