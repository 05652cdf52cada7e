"""Registering trades with the server's engine: one (``POST /dtms/trade/enable``) or a
client's batch (``POST /dtms/trades``), through the same path.

Why batches go through the engine together: a client's outbox delivers up to hundreds of
registrations per request, and one engine round trip and one store transaction each
made the transaction and the thread hop, not the engine, the cost of draining it. Here
a batch's registrations are checked against the store, then registered in one engine
round trip whose writes are one store transaction; each keeps its own outcome
(registered, already registered, or its error), in order. Idempotent by ticket: a known
ticket is reported, not registered again. A ticket whose record is CLOSED, registered
with another opening time or entry, is a new trade (a broker that reuses tickets): the
old record is archived first. A registration contradicting a live trade is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hookspecs import DefensiveState, SymbolInfo, Trade
from hookspecs.events import log_event

from .closing import has_outcome
from .errors import (
    Conflict,
    EngineUnavailable,
    RegistrationConflict,
    RegistrationRejected,
)
from .position_volume import kept_volume, position_volume
from .registration_answers import answer, closed_conflict
from .service_parts import ServiceParts
from .validation import FieldError, Registration, UnknownSymbol, check_not_ahead
from .views import record_state

if TYPE_CHECKING:  # redis's: imported only with a Redis store (DtmsService.open_store)
    from .replicas import Replicas

#: one registration's outcome: ``(created, record)``, or why it was refused
Outcome = tuple[bool, dict[str, Any]] | Exception


class Registering(ServiceParts):
    """Part of :class:`~.service.DtmsService`."""

    async def register(self, reg: Registration) -> tuple[bool, dict[str, Any]]:
        """``(created, body)`` of one registration; its refusal raised."""
        (outcome,) = await self.register_many([reg])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome[0], answer(reg.ticket, *outcome, reg)

    async def register_many(self, regs: Sequence[Registration]) -> list[Outcome]:
        """Each registration's outcome, in order. What is not a registration's own fault
        (the engine or the store down, a broker that cannot check a symbol) is raised
        for the whole request."""
        self._require_engine()
        checked = await self.engine.run(self._with_broker_symbols(regs))
        out: list[Outcome | None] = [c if isinstance(c, Exception) else None for c in checked]
        ready = [(i, c) for i, c in enumerate(checked) if not isinstance(c, Exception)]
        if self.replicas is not None:
            await self._register_replicated(self.replicas, ready, out)
        else:
            todo = ready
            async with self._command_lock:
                while todo:  # a ticket twice in one batch: its second after its first
                    first: list[tuple[int, Registration]] = []
                    again: list[tuple[int, Registration]] = []
                    seen: set[int] = set()
                    for i, reg in todo:
                        (again if reg.ticket in seen else first).append((i, reg))
                        seen.add(reg.ticket)
                    await self._register_round(first, out)
                    todo = again
        done = [o for o in out if o is not None]
        assert len(done) == len(regs)
        for outcome in done:
            if not isinstance(outcome, Exception):
                label = "created" if outcome[0] else "already_registered"
                self.metrics.registrations.labels(label).inc()
        return done

    async def _register_round(
        self, items: list[tuple[int, Registration]], out: list[Outcome | None]
    ) -> None:
        create: list[tuple[int, Registration]] = []
        marked: set[int] = set()  # unregistered tickets, lifted once registered
        for i, reg in items:
            try:
                self._check_opened_at(reg)
                stands, record = self._standing(reg)
                if record is None and self._check_unregistered(reg):
                    marked.add(reg.ticket)
            except Conflict as exc:
                out[i] = exc
                continue
            if stands:
                assert record is not None
                out[i] = (False, record)
                continue
            if record is not None:
                self._archive_reused(reg.ticket)
            create.append((i, reg))
        if not create:
            return
        refused = await self.engine.run(self._register_in_engine([r for _, r in create]))
        for i, reg in create:
            record = self.store.get_record(reg.ticket)
            if reg.ticket in refused:
                out[i] = refused[reg.ticket]
            elif record is None:
                out[i] = RegistrationRejected(
                    f"the engine kept no record of ticket {reg.ticket} (see the server log)"
                )
            else:
                out[i] = (True, record)
        lift = (r.ticket for i, r in create if r.ticket in marked and isinstance(out[i], tuple))
        self._lift_unregistered(lift)

    async def _register_replicated(
        self,
        replicas: Replicas,
        regs: Sequence[tuple[int, Registration]],
        out: list[Outcome | None],
    ) -> None:
        """Each through the registration stream (docs/scaling.md), one after another."""
        from .replica_service import NotApplied, Refused, register

        for i, reg in regs:
            try:
                self._check_opened_at(reg)
                marked = self.store.get_record(reg.ticket) is None and self._check_unregistered(
                    reg
                )  # the mark is the store's, lifted once the registration is applied
                created, body = await register(self, replicas, reg)  # body: the record
            except NotApplied as exc:
                raise EngineUnavailable(str(exc)) from None
            except Refused as exc:
                out[i] = RegistrationRejected(str(exc))
            except (UnknownSymbol, Conflict) as exc:
                out[i] = exc
            else:
                out[i] = (created, body)
                if created and marked:
                    self._lift_unregistered([reg.ticket])

    def _check_opened_at(self, reg: Registration) -> None:
        assert self._host is not None
        check_not_ahead("opened_at", reg.opened_at, self._host.clock.now())

    def _standing(self, reg: Registration) -> tuple[bool, dict[str, Any] | None]:
        """``(stands, record)``: whether the stored record of ``reg``'s ticket answers it
        (already registered), and that record. Not standing, the ticket is free for
        ``reg``: no record, or a CLOSED one it reuses (to archive before registering).
        A registration contradicting the live trade raises :class:`RegistrationConflict`.
        The one rule of both a single server and the replicas (docs/scaling.md); with
        replicas, a close or DELETE left for the trade's owner comes first (as one
        server applied it before this registration arrived): :class:`LeftFirst` until it
        is applied."""
        record = self.store.get_record(reg.ticket)
        if record is None:
            return False, None
        if self.replicas is not None and not has_outcome(record):
            from .close_inbox import LeftFirst, waits_for

            if waits_for(self.replicas, reg.ticket, record):
                raise LeftFirst(reg.ticket)
        if _reused(record, reg):
            return False, record
        _check_conflict(record, reg)
        if record_state(record) == DefensiveState.CLOSED.value:
            raise closed_conflict(reg.ticket, record)
        return True, record

    def _archive_reused(self, ticket: int) -> None:
        """The CLOSED record of a ticket registered for a new position goes aside."""
        self.store.archive_record(ticket)
        self.log.warning(
            "ticket %s registered again for a new position; its closed record was archived",
            ticket,
        )

    async def _register_in_engine(self, regs: Sequence[Registration]) -> dict[int, Exception]:
        """On the engine thread: ``regs`` registered with the strategy, their writes in one
        store transaction; returns the ones refused (an unknown symbol), by ticket."""
        assert self._engine_lock is not None
        async with self._engine_lock:
            return await self._register_locked(regs)

    async def _register_locked(self, regs: Sequence[Registration]) -> dict[int, Exception]:
        """:meth:`_register_in_engine` for a caller holding the engine lock (a replica's
        consumer decides and registers with no cycle in between)."""
        assert self._host is not None and self._strategy is not None
        refused: dict[int, Exception] = {}
        known: dict[str, bool] = {}
        for reg in regs:
            if reg.symbol not in known:
                try:
                    self._check_symbol(reg.symbol)
                    known[reg.symbol] = True
                except UnknownSymbol:
                    known[reg.symbol] = False
            if not known[reg.symbol]:
                refused[reg.ticket] = UnknownSymbol(reg.symbol)
        now = self._host.clock.now()
        trades = [_trade(reg, now) for reg in regs if reg.ticket not in refused]
        many = getattr(self._strategy, "register_many", None)
        if many is not None:
            await many(self._host, trades)
        else:
            for trade in trades:
                await self._strategy.on_trade_executed(self._host, trade)
        for trade in trades:
            log_event(
                self.log,
                "registration",
                "registered ticket %s (%s %s %s lots)",
                trade.ticket,
                trade.direction,
                trade.symbol,
                trade.volume,
                ticket=trade.ticket,
                symbol=trade.symbol,
                direction=trade.direction,
                volume=trade.volume,
            )
        return refused

    def _check_symbol(self, symbol: str) -> None:
        """A 400 (:class:`UnknownSymbol`) when the broker does not trade ``symbol``; a 503
        when the broker cannot say (the client's outbox retries, it is not its fault)."""
        if self._symbol_info(symbol) is None:
            raise UnknownSymbol(symbol)

    def _symbol_info(self, symbol: str) -> SymbolInfo | None:
        """The broker's rules of ``symbol``, else of the one symbol it trades under the
        same name in another case (``xauusd`` for ``XAUUSD``); None when it trades none,
        or more than one (which one was meant would be a guess). A 503 when the broker
        cannot say."""
        assert self._host is not None
        broker = self._host.broker
        try:
            info = broker.symbol_info(symbol)
            if info is not None:
                return info
            found: dict[str, SymbolInfo] = {}
            for name in {symbol.upper(), symbol.lower()} - {symbol}:
                other = broker.symbol_info(name)
                if other is not None:
                    found[other.name] = other
        except Exception as exc:
            self.log.error("checking symbol %r with the broker failed: %r", symbol, exc)
            raise EngineUnavailable(
                f"cannot check symbol {symbol!r} with the broker: {type(exc).__name__}: {exc}"
            ) from exc
        return next(iter(found.values())) if len(found) == 1 else None

    async def _with_broker_symbols(
        self, regs: Sequence[Registration]
    ) -> list[Registration | Exception]:
        """On the engine thread (the broker's): each registration under the broker's own
        spelling of its symbol, so ``xauusd`` and ``XAUUSD`` are one trade and the engine
        finds its symbol's rules, with the broker position's volume when it sent none
        (:func:`.position_volume.position_volume`); or why not: a volume below the
        symbol's minimum (no order of it could ever be placed, so no close or hedge of it
        either), or none to take. A symbol
        the broker does not trade is left as sent, refused when registered."""
        infos: dict[str, SymbolInfo | None] = {}
        out: list[Registration | Exception] = []
        for reg in regs:
            if reg.symbol not in infos:
                infos[reg.symbol] = self._symbol_info(reg.symbol)
            info = infos[reg.symbol]
            if info is None:
                # refused where it always was, after the stored trade was asked: a live
                # trade's ticket with another symbol is a conflict naming it (409)
                out.append(reg)
                continue
            if reg.volume is None:
                try:
                    assert self._host is not None
                    volume = position_volume(self._host.broker, reg, info.name, self.log)
                except Conflict as exc:
                    # no such position: a repeat of a kept trade (the original's clients
                    # send volume 0 every time) is answered as any repeat is, by its record
                    kept = kept_volume(self.store.get_record(reg.ticket), reg, info.name)
                    if kept is None:
                        out.append(exc)
                        continue
                    volume = kept
                reg = replace(reg, volume=volume, volume_sent=False)
            assert reg.volume is not None
            if info.volume_min > 0 and reg.volume < info.volume_min * (1 - 1e-9):
                out.append(
                    FieldError(
                        "volume",
                        f"below the minimum volume of {info.name} at the broker "
                        f"({info.volume_min:g}), got {reg.volume:g}",
                    )
                )
            else:
                out.append(replace(reg, symbol=info.name) if info.name != reg.symbol else reg)
        return out


def _trade(reg: Registration, now: datetime) -> Trade:
    assert reg.volume is not None  # taken from the broker's position (_with_broker_symbols)
    return Trade(
        ticket=reg.ticket,
        symbol=reg.symbol,
        direction=reg.direction,
        volume=reg.volume,
        entry_price=reg.entry_price,
        stop_loss=reg.stop_loss,
        take_profit=reg.take_profit,
        opened_at=reg.opened_at or now,
        magic=reg.magic,
        comment=reg.comment,
    )


def _live(record: Mapping[str, Any]) -> bool:
    """Open, or closed by DTMS with actions still owed (its close or its hedge's)."""
    return record.get("state") != DefensiveState.CLOSED.value or bool(record.get("owed"))


def _reused(record: Mapping[str, Any], reg: Registration) -> bool:
    """A CLOSED record, and the registration names another position: another direction,
    symbol or entry, or another opening time when it gives one."""
    if _live(record):
        return False
    if record.get("direction") != reg.direction or record.get("symbol") != reg.symbol:
        return True
    entry = record.get("entry_price")
    if not isinstance(entry, int | float) or abs(entry - reg.entry_price) > 1e-9 * max(
        1.0, abs(entry)
    ):
        return True
    if reg.opened_at is None:
        return False
    opened = record.get("opened_at")
    try:
        return datetime.fromisoformat(str(opened)) != reg.opened_at
    except ValueError:
        return True


def _check_conflict(record: Mapping[str, Any], reg: Registration) -> None:
    """A live trade registered again with another direction or symbol is not the same
    trade, and not a new one either: refuse it, naming the field."""
    if not _live(record):
        return
    for field, sent in (("direction", reg.direction), ("symbol", reg.symbol)):
        held = record.get(field)
        if held is not None and held != sent:
            raise RegistrationConflict(
                field,
                f"ticket {reg.ticket} is a live {record.get('direction')} trade on "
                f"{record.get('symbol')}: {field} {sent!r} conflicts with {held!r}",
            )
