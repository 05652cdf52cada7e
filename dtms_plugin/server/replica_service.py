"""How a ``dtms serve`` replica's service uses :class:`~.replicas.Replicas`
(docs/scaling.md): the lease step of each cycle, the registration consumer, and a
registration accepted over HTTP by any replica."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from hookspecs import Action, ActionResult, DataError, DefensiveState, ResultCode

from ..store import StoreError
from .close_inbox import LeftFirst
from .closing import has_outcome
from .engine_thread import EngineThread
from .errors import Conflict, EngineUnavailable, RegistrationConflict, TradeClosed
from .metrics import ServerMetrics
from .position_volume import BrokerPositions
from .registered_ticket import Held
from .replica_admission import moved_away
from .replicas import Replicas
from .store_loss import restore
from .validation import Registration, UnknownSymbol
from .views import record_state


class DtmsService(Protocol):
    """What of :class:`~.service.DtmsService` this module uses."""

    engine: EngineThread
    log: Any
    metrics: ServerMetrics
    _engine_lock: asyncio.Lock | None
    _host: Any  # the engine's host: its broker, read on the engine thread

    async def _register_locked(self, regs: list[Registration]) -> dict[int, Exception]: ...

    def _standing(
        self, reg: Registration, held: Held = None
    ) -> tuple[bool, dict[str, Any] | None]: ...

    def _archive_reused(self, ticket: int) -> None: ...

    def _check_symbol(self, symbol: str) -> None: ...

    async def _settle_left(self, ticket: int) -> None: ...


class NotApplied(RuntimeError):
    """No replica applied a queued registration in time (the service's 503)."""


class Refused(RuntimeError):
    """The replica that applied a registration kept no record (the service's 422)."""


class Unsettled(RuntimeError):
    """A close or DELETE left for the trade of a registration failed to apply (kept, and
    said once, for the owner's cycles): the registration waits, pending, and comes back
    after a lease TTL. Tried again at once, it sent the failing close again and again."""


CLOSED = DefensiveState.CLOSED.value

#: how long an HTTP registration waits for a replica to apply it before a 503 (the client
#: retries; a registration is idempotent by ticket)
APPLY_TIMEOUT = 20.0
#: how long a consumer waits for the lease of a ticket another replica holds (registering
#: it, or owning its CLOSED record until its next cycle) before leaving the entry pending:
#: it comes back, claimed after a lease TTL
LEASE_WAIT = 1.0
#: how often a consumer trims the registration stream of its applied entries
TRIM_SECONDS = 60.0


async def lease_step(replicas: Replicas, strategy: Any, host: Any, now: datetime) -> None:
    """Before a cycle, on the engine loop: drop the trades whose lease is gone, take the
    orphaned ones over (loaded at their current version, then recovered)."""
    from ..engine import TradeRecord

    replicas.renew(records=True)
    if replicas.renewal_failing():  # nothing reached the store: this cycle did not happen
        raise StoreError(replicas.renewal_failing())
    # the records the store lost of trades held here: written again from memory, then
    # reconciled with the broker as the trades taken over are (docs/dtms.md §8)
    restored = restore(replicas, strategy, now)
    # a trade closed with nothing owed needs no owner: its lease goes back (kept, the
    # replicas' shares would count it, and the renewals grow with every closed trade)
    book = strategy.book.records
    done = {t for t in replicas.held if (r := book.get(t)) is not None and not r.active}
    done |= _let_go(replicas, [t for t in replicas.held if t not in book])
    if done:
        replicas.release(done)
    # what the engine still holds without a lease: lost mid-cycle and written since (its
    # writes were refused), or registered there without one
    for ticket in [t for t in strategy.book.records if t not in replicas.held]:
        strategy.book.pop(ticket)
    if replicas.renewed_at is None or time.time() - replicas.renewed_at > replicas.ttl_ms / 1e3:
        return  # not renewed: take nothing new either
    if moved_away(replicas):  # the store defends another account now: nothing is ours
        return
    # a trade held whose write was refused: another replica wrote it while this one's
    # lease had lapsed mid-cycle; its record is read again, at the current version
    behind = sorted(replicas.store.refused & replicas.held)
    replicas.store.refused.clear()
    claimed = replicas.claim()
    if behind:
        replicas.store.adopt(behind, fence=True)
        claimed += behind
    if not claimed:
        if restored:
            await strategy.recover(host, now)
        return
    for ticket, data in replicas.store.adopt(claimed).items():
        try:
            strategy.book.put(TradeRecord.from_json(data))
        except DataError as exc:
            replicas.log.error("DTMS: unreadable record %s left in the store: %s", ticket, exc)
    await strategy.recover(host, now)


def _let_go(replicas: Replicas, tickets: list[int]) -> set[int]:
    """Of held ``tickets`` the engine's book no longer has, those whose stored record is
    gone or closed with nothing owed: the engine let them go once closed (a close left
    by another replica, applied in a burst of catch-up cycles, leaves the book when the
    book forgets old closed trades), so the check on the book alone missed them and
    their leases were renewed for ever. One that cannot be read stays held, as before."""
    from ..engine import TradeRecord

    let_go = set()
    for ticket in tickets:
        data = replicas.store.get_record(ticket)
        try:
            if data is None or not TradeRecord.from_json(data).active:
                let_go.add(ticket)
        except DataError:
            continue  # said when it was adopted
    return let_go


def bind(replicas: Replicas, strategy: Any) -> None:
    """The engine drops a trade the moment a renewal finds its lease lost; and a close
    its recovery finds on a trade it took over happened before it did, not "while DTMS
    was not running": DTMS ran, on another replica or none."""
    from ..local_reconcile import TAKEN_OVER

    if hasattr(strategy, "while_away"):
        strategy.while_away = (TAKEN_OVER, " before this replica took it over")

    def dropped(tickets: set[int]) -> None:
        for ticket in tickets:
            # kept: written again should the store turn out to have lost it (store_loss)
            replicas.watch.kept[ticket] = strategy.book.records.get(ticket)
            strategy.book.pop(ticket)

    replicas.on_lost = dropped


def guard_broker(host: Any, replicas: Replicas) -> None:
    """Every broker call of the engine first checks that this replica still holds the
    trade's lease (renewing it when due): a replica resumed after a pause past its lease
    sends nothing. What no check can stop is a call already in flight when the process
    was paused; the new owner settles such an action from the broker (docs/dtms.md §8)."""
    execute = host.execute

    async def guarded(action: Action) -> ActionResult:
        if not replicas.holds_now(action.ticket):
            return ActionResult(
                False, ResultCode.TRANSIENT, "not sent: this replica no longer holds the lease"
            )
        result: ActionResult = await execute(action)
        return result

    host.execute = guarded


def registration_body(reg: Registration) -> dict[str, Any]:
    body = asdict(reg)
    body["opened_at"] = reg.opened_at.isoformat() if reg.opened_at else None
    return body


def registration_from(body: dict[str, Any]) -> Registration:
    opened = body.get("opened_at")
    return Registration(**{**body, "opened_at": datetime.fromisoformat(opened) if opened else None})


async def consume(service: DtmsService, replicas: Replicas) -> None:
    """The registration consumer of this replica, on the server loop: reads the stream
    (blocking in a worker thread) and applies what it read on the engine thread."""
    failures = 0
    trimmed = time.monotonic()
    while True:
        if time.monotonic() - trimmed > TRIM_SECONDS:
            trimmed = time.monotonic()
            await _trim(service, replicas)
        try:
            entries = await asyncio.to_thread(replicas.read, 200)
            if entries:
                await service.engine.run(replicas.apply(entries, _applier(service, replicas)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            why = f"{type(exc).__name__}: {exc}"
            # /health is 503 while it lasts: this replica applies no registration
            replicas.consumer_error = f"registration stream unreadable ({failures} tries): {why}"
            if failures == 1:
                service.log.error("registration stream unavailable: %s (retrying)", why)
            await asyncio.sleep(min(5.0, 0.2 * failures))
        else:
            if failures:
                service.log.warning("registration stream read again after %d tries", failures)
            failures, replicas.consumer_error = 0, None


async def _trim(service: DtmsService, replicas: Replicas) -> None:
    """The stream's applied entries let go (:meth:`~.replica_stream.RegistrationStream.trim`):
    without it the stream grew by every registration ever queued. A failure is the
    store's, which the reads say already: this one at WARNING, and tried again later."""
    try:
        await asyncio.to_thread(replicas.trim)
    except StoreError as exc:
        service.log.warning("registration stream not trimmed: %s", exc)


def _applier(
    service: DtmsService, replicas: Replicas
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]:
    """What the consumer does with each entry: tries until it holds the ticket's lease or
    the record answers the registration, for :data:`LEASE_WAIT`. Each try holds the engine
    lock, so no cycle gives the lease back or writes the record between the decision and
    the registration; the waits between tries do not, so the cycles go on."""

    async def apply(body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            reg = registration_from(body)
        except (TypeError, ValueError) as exc:
            return {"error": f"unreadable registration entry: {exc}"}
        deadline = time.monotonic() + LEASE_WAIT
        while True:
            assert service._engine_lock is not None
            async with service._engine_lock:  # no cycle in between: the lease stays as seen
                try:
                    outcome = await _apply_one(service, replicas, reg)
                except Unsettled:
                    return None
            if outcome is not None or time.monotonic() > deadline:
                return outcome
            await asyncio.sleep(0.01)

    return apply


async def _apply_one(
    service: DtmsService, replicas: Replicas, reg: Registration
) -> dict[str, Any] | None:
    """The outcome of ``reg``, decided where registrations of one ticket are serialised:
    under its lease, by the single server's rules (docs/dtms.md §8): already registered,
    a conflict with the live trade (the field named), or registered (a CLOSED record it
    reuses archived first). Deciding before the entry was queued let two registrations of
    one ticket both be "registered". The owner first applies a close or DELETE another
    replica left for the trade, as one server had before the registration arrived (a
    broker reusing the ticket: the old trade closed, the new one registered). None:
    another replica holds the lease, or what was left for the trade is not applied yet,
    or the store defends another account now (:func:`.replica_admission.moved_away`):
    the entry stays pending, and comes back after a lease TTL."""
    ticket = reg.ticket
    if moved_away(replicas):  # another account's: left pending, for one of its replicas
        return None
    if ticket in replicas.held:  # the owner (a DELETE left gives the lease back: taken again)
        await _settle(service, ticket)
    taken = ticket not in replicas.held and replicas.acquire(ticket)
    outcome: dict[str, Any] | None = None
    try:
        stands, record = await _standing(service, replicas, reg, taken)
        if stands:
            outcome = {"created": False, "record": record}
    except LeftFirst:  # applied first by the trade's owner, or the replica claiming it
        if taken:
            replicas.release({ticket})
        return None
    except Unsettled:
        if taken:
            replicas.release({ticket})
        raise
    except Conflict as exc:
        outcome = {"error": str(exc), "field": exc.field, "kind": exc.error, **_details(exc)}
    if ticket not in replicas.held or outcome is not None:
        if taken:
            replicas.release({ticket})
        return outcome
    error: str | None = None
    try:
        # its record at the current version, fenced: the previous owner writes it no more
        replicas.store.adopt([ticket], fence=True)
        if record is not None:
            service._archive_reused(ticket)
        for refused in (await service._register_locked([reg])).values():
            raise refused
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    record = replicas.store.get_record(ticket)
    if record is None:
        replicas.release({ticket})
        return {"error": error or "the engine kept no record (see the server log)"}
    return {"created": True, "record": record}


async def _standing(
    service: DtmsService, replicas: Replicas, reg: Registration, taken: bool
) -> tuple[bool, dict[str, Any] | None]:
    """``service._standing(reg)``; :class:`LeftFirst` while a close or DELETE left for
    the trade waits for its owner (the owner applied it before: :func:`_apply_one`). A
    CLOSED trade without its outcome, whose lease this replica has just taken
    (``taken``), has no owner that will: its engine closed it itself and gave the lease
    back before the report left for it was applied, and nobody claims a closed trade.
    So this replica applies it, then decides. An open trade nobody owns is left to the replica that
    claims it: applied through its engine, which closes its hedge too."""
    assert service._host is not None
    held = BrokerPositions(service._host.broker).held(reg.ticket)  # on the engine thread
    try:
        return service._standing(reg, held)
    except LeftFirst:
        record = replicas.store.get_record(reg.ticket) if taken else None
        if record is None or record_state(record) != CLOSED or has_outcome(record):
            raise
    replicas.store.adopt([reg.ticket], fence=True)  # its writes at the current version
    await _settle(service, reg.ticket)
    return service._standing(reg, held)


async def _settle(service: DtmsService, ticket: int) -> None:
    """What another replica left for ``ticket`` applied here; :class:`Unsettled` when it
    failed (kept for the next cycle, said once)."""
    try:
        await service._settle_left(ticket)
    except EngineUnavailable as exc:
        raise Unsettled(str(exc)) from None


async def register(
    service: DtmsService, replicas: Replicas, reg: Registration
) -> tuple[bool, dict[str, Any]]:
    """Accept a registration on this replica: answered at once when the stored record
    answers it (a retry, or a conflict with the live trade); otherwise queued on the
    stream, and answered with the outcome the replica that applied it decided, and the
    record as it was then (read later, the owner's cycle may have moved it on, or away
    for a moment). Returns ``(created, record)``."""
    try:
        stands, record = await asyncio.to_thread(service._standing, reg)
    except LeftFirst:  # decided once the close or DELETE left for the trade is applied
        stands, record = False, None
    if stands:
        assert record is not None
        return False, record
    await service.engine.run(_check(service, reg.symbol))
    entry = await asyncio.to_thread(replicas.publish, registration_body(reg))
    deadline = time.monotonic() + APPLY_TIMEOUT
    while (outcome := await asyncio.to_thread(replicas.outcome, entry)) is None:
        if time.monotonic() > deadline:
            raise NotApplied(
                f"registration of ticket {reg.ticket} queued ({entry}) but not applied"
                f" within {APPLY_TIMEOUT:.0f} s; it will be"
            )
        await asyncio.sleep(0.01)
    error = outcome.get("error")
    if isinstance(error, str) and isinstance(outcome.get("field"), str):
        if outcome.get("kind") == TradeClosed.error:
            details = outcome.get("details")
            raise TradeClosed(
                outcome["field"], error, details if isinstance(details, dict) else None
            )
        raise RegistrationConflict(outcome["field"], error)
    record = outcome.get("record")
    if error or not isinstance(record, dict):
        error = error or "no record was written"
        if error.startswith("UnknownSymbol"):
            raise UnknownSymbol(reg.symbol)
        raise Refused(f"ticket {reg.ticket}: {error}")
    return outcome.get("created") is True, record


def _details(exc: Conflict) -> dict[str, Any]:
    return {"details": exc.details} if exc.details else {}


async def _check(service: DtmsService, symbol: str) -> None:
    service._check_symbol(symbol)
