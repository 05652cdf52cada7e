"""Registering trades with the server's engine: one (``POST /dtms/trade/enable``) or a
client's batch (``POST /dtms/trades``), through the same path.

Why registrations go through the engine together: a client's outbox delivers up to
hundreds of registrations per request, and hosts catching up send many requests at once;
one engine round trip, one store transaction and one read of the broker's positions each
made those, not the engine, the cost of draining them. Here the registrations of the
requests waiting for a round (:mod:`.rounds`) are checked with the broker and against the
store, then registered, in one engine round trip under the engine lock whose writes are
one store transaction; each keeps its own outcome (registered, already registered, or
its error), in order. Idempotent by ticket: a known
ticket is reported, not registered again. A ticket whose record is CLOSED, registered
with another opening time or entry, is a new trade (a broker that reuses tickets): the
old record is archived first. A registration contradicting a live trade is a conflict,
unless the broker's position of the ticket is the registration's and not the trade's
(:mod:`.registered_ticket`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hookspecs import DefensiveState, SymbolInfo, Trade

from .broker_entry import as_at_broker, broker_position
from .broker_ticket import check_at_broker
from .closing import has_outcome
from .errors import Conflict, EngineUnavailable, RegistrationConflict, RegistrationRejected
from .position_volume import BrokerPositions, kept_volume, position_volume, volume_refused
from .registered_ticket import Held, check_conflict, is_position, reused
from .registration_answers import answer, closed_conflict, say_registered
from .rounds import Outcome
from .service_parts import ServiceParts
from .validation import (
    Registration,
    UnknownSymbol,
    check_not_ahead,
    symbol_spellings,
)
from .views import record_state

if TYPE_CHECKING:  # redis's: imported only with a Redis store (DtmsService.open_store)
    from .replicas import Replicas


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
        for the whole request: on one server, for every request of its round."""
        self._require_engine()
        if self.replicas is not None:
            checked = await self.engine.run(self._with_broker_symbols(regs))
            failed = next((c for c in checked if isinstance(c, EngineUnavailable)), None)
            if failed is not None:  # before any of the request goes to the stream
                raise failed
            out: list[Outcome | None] = [c if isinstance(c, Exception) else None for c in checked]
            ready = [(i, c) for i, c in enumerate(checked) if not isinstance(c, Exception)]
            await self._register_replicated(self.replicas, ready, out)
            done = [o for o in out if o is not None]
        else:
            done = await self._rounds.register(regs)
        assert len(done) == len(regs)
        # a broker that could not say (a symbol's rules, the positions a volume is taken
        # from) fails the request whose registration asked it, not the others of its round
        unavailable = next((o for o in done if isinstance(o, EngineUnavailable)), None)
        if unavailable is not None:
            raise unavailable
        for outcome in done:
            if not isinstance(outcome, Exception):
                label = "created" if outcome[0] else "already_registered"
                self.metrics.registrations.labels(label).inc()
        return done

    async def _round(self, regs: list[Registration]) -> list[Outcome]:
        """One engine round of the registrations of the requests it took (:mod:`.rounds`),
        in their order: one round trip to the engine thread."""
        return await self.engine.run(self._round_in_engine(regs))

    async def _round_in_engine(self, regs: list[Registration]) -> list[Outcome]:
        """On the engine thread, under the engine lock (no cycle between a registration's
        check and its record): ``regs`` checked and registered, a ticket sent twice (a
        batch's, or a client's retry beside its first try) registered second after its
        first, as it was when each request had its own round."""
        assert self._engine_lock is not None and self._host is not None
        out: list[Outcome | None] = [None] * len(regs)
        # read once for the round: a second pass only decides tickets of the first
        positions = BrokerPositions(self._host.broker)
        async with self._engine_lock:
            todo = list(enumerate(regs))
            while todo:
                first: list[tuple[int, Registration]] = []
                again: list[tuple[int, Registration]] = []
                seen: set[int] = set()
                for i, reg in todo:
                    (again if reg.ticket in seen else first).append((i, reg))
                    seen.add(reg.ticket)
                await self._register_pass(first, positions, out)
                todo = again
        done = [o for o in out if o is not None]
        assert len(done) == len(regs)
        return done

    async def _register_pass(
        self,
        items: list[tuple[int, Registration]],
        positions: BrokerPositions,
        out: list[Outcome | None],
    ) -> None:
        """``items`` (no ticket twice) checked with the broker, whose ``positions`` serve
        all of them (their volumes, the open hedges of the new ones), decided against the
        store, and the new ones registered in one store transaction."""
        assert self._host is not None
        checked = await self._with_broker_symbols([reg for _, reg in items], positions)
        create: list[tuple[int, Registration]] = []
        marked: set[int] = set()  # unregistered tickets, lifted once registered
        for (i, _), reg in zip(items, checked, strict=True):
            if isinstance(reg, Exception):
                out[i] = reg
                continue
            try:
                self._check_opened_at(reg, positions)
                stands, record = await self._standing_at_broker(reg, positions)
                if not stands:  # a new trade: the broker's word on its ticket
                    now = self._host.clock.now()
                    never = getattr(self._strategy, "not_the_position", None)
                    check_at_broker(reg, record, positions, self._host.broker, now, never)
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
        refused = await self._register_locked([r for _, r in create], positions)
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

    def _check_opened_at(self, reg: Registration, positions: BrokerPositions | None = None) -> None:
        """A 409 when the sent opening is ahead of the server's clock
        (:func:`.validation.check_not_ahead`), unless the broker lists the position
        (``positions``, read on the engine thread): its own opening replaces the sent one
        (:func:`.broker_entry.as_at_broker`), as its entry and volume do."""
        assert self._host is not None
        if positions is not None and broker_position(reg, positions) is not None:
            return
        check_not_ahead("opened_at", reg.opened_at, self._host.clock)

    def _standing(self, reg: Registration, held: Held = None) -> tuple[bool, dict[str, Any] | None]:
        """``(stands, record)``: whether the stored record of ``reg``'s ticket answers it
        (already registered), and that record; ``held``: the broker's position of the
        ticket (:func:`.registered_ticket.reused`). Not standing, the ticket is free for
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
        if reused(record, reg, held):
            return False, record
        check_conflict(record, reg)
        if record_state(record) == DefensiveState.CLOSED.value:
            raise closed_conflict(reg.ticket, record)
        return True, record

    async def _standing_at_broker(
        self, reg: Registration, positions: BrokerPositions
    ) -> tuple[bool, dict[str, Any] | None]:
        """:meth:`_standing`, the broker the truth (docs/dtms.md §8): a registration that
        conflicts with the live record of its ticket, and is the broker's position under
        it while the record is not (a ticket registered before the broker gave it to this
        position), has the engine close that record as never matched, and takes the
        ticket. The broker not saying, or its position being the record's, the 409
        stands."""
        held = positions.held(reg.ticket)
        try:
            return self._standing(reg, held)
        except RegistrationConflict as conflict:
            try:
                pos = positions.of_ticket(reg.ticket)
            except Exception:  # the broker cannot say: the record stands
                raise conflict from None
            never = getattr(self._strategy, "never_matched", None)
            if never is None or not is_position(reg, pos):
                raise
            assert pos is not None
            if not await never(self._host, reg.ticket, pos):
                raise
        return self._standing(reg, held)

    def _archive_reused(self, ticket: int) -> None:
        """The CLOSED record of a ticket registered for a new position goes aside."""
        self.store.archive_record(ticket)
        self.log.warning(
            "ticket %s registered again for a new position; its closed record was archived",
            ticket,
        )

    async def _register_locked(
        self,
        regs: Sequence[Registration],
        positions: BrokerPositions | None = None,
    ) -> dict[int, Exception]:
        """On the engine thread, the engine lock held (a round's, or a replica's consumer
        deciding and registering with no cycle in between): ``regs`` registered with the
        strategy, their writes in one store transaction, each with its broker position's
        entry, volume and opening (:func:`.broker_entry.as_at_broker`), the broker's
        positions read once (``positions``: a round's); returns the ones refused (an
        unknown symbol), by ticket."""
        assert self._host is not None and self._strategy is not None
        read = positions or BrokerPositions(self._host.broker)
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
        trades = [
            _trade(as_at_broker(r, read, self.log, now), now)
            for r in regs
            if r.ticket not in refused
        ]
        many = getattr(self._strategy, "register_many", None)
        records: Mapping[int, Any] = {}  # the engine's new records, which know the risk
        if many is not None:
            records = await many(self._host, trades, positions=read.get) or {}
        else:
            for trade in trades:
                await self._strategy.on_trade_executed(self._host, trade)
        for trade in trades:
            say_registered(self.log, trade, records.get(trade.ticket))
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
            for name in symbol_spellings(symbol)[1:]:
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
        self, regs: Sequence[Registration], positions: BrokerPositions | None = None
    ) -> list[Registration | Exception]:
        """On the engine thread (the broker's): each registration under the broker's own
        spelling of its symbol, so ``xauusd`` and ``XAUUSD`` are one trade and the engine
        finds its symbol's rules, with the broker position's volume when it sent none
        (:func:`.position_volume.position_volume`); or why not: a volume below the
        symbol's minimum or above its maximum (:func:`.position_volume.volume_refused`),
        or none to take. A symbol the broker does not trade is left as sent,
        refused when registered. The positions are read once (``positions``: the round's),
        when a registration leaves its volume to them."""
        assert self._host is not None
        if positions is None:
            positions = BrokerPositions(self._host.broker)
        infos: dict[str, SymbolInfo | EngineUnavailable | None] = {}
        out: list[Registration | Exception] = []
        for reg in regs:
            if reg.symbol not in infos:
                try:
                    infos[reg.symbol] = self._symbol_info(reg.symbol)
                except EngineUnavailable as exc:  # its request's 503 (register_many)
                    infos[reg.symbol] = exc
            info = infos[reg.symbol]
            if isinstance(info, EngineUnavailable):
                out.append(info)
                continue
            if info is None:
                # refused where it always was, after the stored trade was asked: a live
                # trade's ticket with another symbol is a conflict naming it (409)
                out.append(reg)
                continue
            if reg.volume is None:
                try:
                    volume = position_volume(positions, reg, info.name, self.log)
                except EngineUnavailable as exc:  # its request's 503 (register_many)
                    out.append(exc)
                    continue
                except Conflict as exc:
                    # no such position: a repeat of a kept trade (the original's clients
                    # send volume 0 every time) is answered as any repeat is, by its record
                    kept = kept_volume(self.store.get_record(reg.ticket), reg, info.name)
                    if kept is None:
                        out.append(exc)
                        continue
                    volume = kept
                reg = replace(reg, volume=volume, volume_sent=False)
            try:
                refused = volume_refused(reg, info, positions)
            except EngineUnavailable as exc:  # its request's 503 (register_many)
                out.append(exc)
                continue
            if refused is not None:
                out.append(refused)
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
