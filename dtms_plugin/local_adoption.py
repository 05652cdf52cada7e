"""Adoption at start-up (docs/dtms.md §8): the open positions the local strategy takes on
although it holds no live record of them, which of them are ours by their magic number,
and the WARNING that says what was adopted and why. Split from
:mod:`dtms_plugin.local_reconcile`, whose recovery ends with it; :class:`Adopting` is a
mixin of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes
declared there.

Why: a store that is missing, emptied or damaged (moved aside) must never leave the
host's open positions undefended, and must not make DTMS take on a trader's own trades
or another program's either.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import BrokerError, DefensiveState, HostView, OwnMagic, Trade

from .book import HEDGE_PREFIX, TradeBook
from .engine import TradeRecord
from .position_match import is_hedge, same_trade
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol
from .store.readonly import ReadOnlyStore
from .ticket_text import ticket_in

#: The broker read a registration batch makes (:meth:`Adopting.unlinked_hedges`), as its
#: failures are said (once per episode); not one of a cycle's reads, so not in /health.
REGISTRATION_READ = "positions at a registration"


def broker_magic(host: HostView) -> int | None:
    """The magic the host's broker gives its own orders (:class:`hookspecs.OwnMagic`), or
    ``None`` for a broker that gives none (paper)."""
    broker = host.broker
    return broker.magic if isinstance(broker, OwnMagic) else None


def our_magics(
    configured: int | None, records: Mapping[int, TradeRecord], host_magic: int | None = None
) -> set[int] | None:
    """The magic numbers of the positions DTMS defends: the configured one; unset, the
    host's own (its broker's, :class:`hookspecs.OwnMagic`, which the host's entries carry)
    and those of the trades it holds records of, so a position opened by hand or by
    another program's expert is never taken on after a restart, even when the store
    was lost (docs/dtms.md §8); with the broker's own magic, 0 is never one of them.
    ``None`` (any) only when there is none of them: a broker
    that marks no orders of its own (the paper broker) and a store lost or new, where
    leaving every open position undefended would be worse."""
    if configured is not None:
        return {configured}
    found = {rec.magic for rec in records.values()}
    if host_magic is not None:
        # a broker with a magic of its own never marks the host's orders with 0: there 0
        # is a trade opened by hand, or a record written before records kept the magic
        # (read as 0), which would make every hand-opened position ours
        found.discard(0)
        found.add(host_magic)
    return found or None


def to_adopt(
    positions: Iterable[Trade], records: Mapping[int, TradeRecord], hedges: Iterable[int]
) -> list[Trade]:
    """Open positions with no live record of theirs, of any magic number: not a hedge,
    and with no record, or only the CLOSED record of another trade that had the same
    ticket. Which of them are ours to adopt, :func:`our_magics` says."""
    ours = set(hedges)
    out = []
    for pos in positions:
        if is_hedge(pos) or pos.ticket in ours:
            continue
        rec = records.get(pos.ticket)
        if rec is None or (not rec.active and not same_trade(rec, pos)):
            out.append(pos)
    return out


def unlinked_hedges(positions: Iterable[Trade], known: Collection[int]) -> dict[int, list[Trade]]:
    """The open hedges no record names (their tickets not in ``known``), by the ticket
    their comment ``DTMS_HEDGE_<ticket>`` names: all there is to tell a hedge's trade by
    once the records were lost (docs/dtms.md §8)."""
    out: dict[int, list[Trade]] = {}
    for pos in positions:
        if pos.ticket in known or not is_hedge(pos):
            continue
        parent = ticket_in(pos.comment[len(HEDGE_PREFIX) :])
        if parent is not None:
            out.setdefault(parent, []).append(pos)
    return out


def hedge_of(trade: Trade, hedges: Mapping[int, list[Trade]]) -> Trade | None:
    """The open hedge of ``trade`` among ``hedges`` (:func:`unlinked_hedges`): its comment
    names the trade, on the trade's symbol, on the other side (the oldest, should a
    failed close have left two)."""
    mine = [
        h
        for h in hedges.get(trade.ticket, ())
        if h.symbol == trade.symbol and h.direction != trade.direction
    ]
    return min(mine, key=lambda h: (h.opened_at, h.ticket)) if mine else None


def hedge_suspects(found: Iterable[Trade], hedges: Mapping[int, list[Trade]]) -> list[str]:
    """The symbols on which one adopted position may be a DTMS hedge of another whose
    comment the broker rewrote: the other side of the same symbol, opened no earlier and
    no larger (a hedge is opened while its trade is open, for at most its open volume:
    ``planning.hedge_volume``), of a trade with no hedge known by its comment (DTMS opens
    one hedge per trade, so a trade whose hedge kept its comment has no other). Neither
    the volume's ratio nor the time between them says more: the hedge fraction may have
    changed since, and a trade may take hours to reach HEDGED. Ordinary buys and sells
    of one symbol, a later one larger, or one with a hedge that kept its comment, are
    not suspects."""
    trades = list(found)
    out = set()
    for t in trades:
        if hedges.get(t.ticket):
            continue
        for h in trades:
            if (
                not hedges.get(h.ticket)  # a trade: its hedge kept its comment
                and h.symbol == t.symbol
                and h.direction != t.direction
                and h.opened_at >= t.opened_at
                and h.volume <= t.volume + 1e-9
            ):
                out.add(t.symbol)
    return sorted(out)


def hedged_again(
    rec: TradeRecord, hedge: Trade, now: datetime, settings: DtmsSettings
) -> TradeRecord:
    """``rec``, a trade registered afresh, in the state its open hedge says it was in:
    HEDGED, with the hedge as its own (its close owed when the trade recovers or closes,
    its result the trade's). Registered HEALTHY beside an unknown hedge, the trade walked
    the ladder again, a second partial close and a second hedge, and the first hedge was
    left open when the trade closed, never closed by anyone. The flat deadline the store
    lost cannot be known (it waits while the host is down), so the trade gets the whole
    of it from now."""
    why = (
        f"adopted HEDGED with its open hedge {hedge.ticket}: the record that knew of "
        "it was lost; flat deadline counted from now"
    )
    return rec.evolve(
        state=DefensiveState.HEDGED,
        seq=rec.seq + 1,
        state_entered_at=now,
        armed=True,
        hedge_ticket=hedge.ticket,
        hedge_volume=hedge.volume,
        flat_deadline=now + settings.fast_bars(settings.actions.flat_bars),
        recovery_deadline=None,
        warnings=rec.with_warning(why),
    )


def left_in_folder(settings: DtmsSettings) -> str:
    """With a Redis store (``[plugin.dtms] store``): the records a diskcache store left in
    ``state_dir``, its usual place, said beside "the store was empty" (an empty Redis
    store and 65 records in the folder are most likely a switch of ``store`` in
    plugins.toml, not a lost store); "" when there are none, or with no Redis store.
    Read through SQLite's read-only mode (:mod:`.store.readonly`): nothing is created,
    moved or written there."""
    if not settings.store:
        return ""
    try:
        folder = ReadOnlyStore(settings.state_dir)
    except StoreError:  # no store there (no cache.db), or not one
        return ""
    try:
        count = len(folder.listing())
    except (StoreError, sqlite3.Error):
        return ""
    finally:
        folder.close()
    if not count:
        return ""
    return (
        f"; the folder {settings.state_dir} holds {count} records from a diskcache store: "
        'this run does not read them (docs/scaling.md, "Switching the store", says what '
        "can be done with them)"
    )


def _why_adopted(store: StoreProtocol, empty: bool, left: str) -> str:
    """Why start-up adopted (:func:`adoption_line`): the store damaged, missing or empty,
    else positions with no record."""
    opened_as = getattr(store, "opened_as", "existing")
    where = getattr(store, "directory", None) or getattr(store, "location", "")
    if opened_as == "damaged":
        kept = getattr(store, "kept_aside", None)
        return f"the store was damaged (kept aside at {kept}) while positions were open"
    if opened_as == "new":
        return f"the store in {where} was missing while positions were open"
    if empty:
        return f"the store in {where} was empty while positions were open{left}"
    return "open positions with no record of theirs"


def adoption_line(
    store: StoreProtocol,
    empty: bool,
    adopted: list[Trade],
    reused: list[int],
    left: str = "",
    why: str | None = None,
) -> str:
    """The WARNING that says what was adopted and why: ``why`` when given (a position
    that appeared mid-run: :mod:`.local_midrun`); else the store was damaged (and where
    it was kept), missing, or empty while positions were open (with ``left``: what
    :func:`left_in_folder` found); or positions had no
    record; and which tickets were reused (their closed records archived). How it was
    opened only the diskcache store says (a Redis store: as found)."""
    if why is None:
        why = _why_adopted(store, empty, left)
    tickets = ", ".join(str(p.ticket) for p in adopted)
    line = f"{why}: adopted {len(adopted)}, managed from now on: tickets {tickets}"
    if reused:
        line += f" (tickets {', '.join(map(str, reused))} reused: closed records archived)"
    return line


class Adopting:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    #: the other programs' positions said left alone (at start-up or mid-run), so that
    #: each is said once (:mod:`.local_midrun`)
    _left_said: set[int]

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _flush(self, *, force: bool = False) -> set[int]: ...

        def _register(self, host: HostView, trade: Trade, now: datetime) -> TradeRecord: ...

        def _persist(self, rec: TradeRecord, now: datetime) -> None: ...

        def _put_state(self, rec: TradeRecord, now: datetime) -> None: ...

        def _read_failed(self, what: str, exc: BrokerError, meanwhile: str) -> None: ...

        def _read_back(self, what: str, unit: str = "cycle") -> None: ...

    def _adopt(
        self, host: HostView, positions: list[Trade], now: datetime, why: str | None = None
    ) -> None:
        """docs/dtms.md §8: open positions with our magic number and no record of theirs
        (a store missing, emptied or damaged; a ticket the broker handed out again; one
        that appeared mid-run, ``why`` saying so: :mod:`.local_midrun`) are registered
        fresh and managed, and said at WARNING with their tickets."""
        host_magic = broker_magic(host)
        magics = our_magics(self.settings.magic, self.records, host_magic)
        unrecorded = to_adopt(positions, self.records, self.book.hedge_tickets())
        found = [p for p in unrecorded if magics is None or p.magic in magics]
        left = [p for p in unrecorded if magics is not None and p.magic not in magics]
        if left:  # said, so that an unset or wrong magic shows: a host's own position of
            # a magic neither the broker nor the records gave (a strategy's own magic, a
            # crash before its record) would be left undefended
            self._said_left_alone(left, magics or set(), host_magic)
        hedges = unlinked_hedges(positions, self._known_tickets())
        recorded = {rec.ticket for rec in self.book.live()}  # their journals settle theirs
        if not found:
            self._said_unlinked(hedges, recorded, set(), magics)
            return
        empty = not self.records and why is None
        reused = [p.ticket for p in found if p.ticket in self.records]
        linked: dict[int, int] = {}  # trade -> the hedge it was adopted with
        for pos in found:
            rec = self._register(host, pos, now)
            hedge = hedge_of(pos, hedges)
            if hedge is not None:
                self._hedged_again(rec, hedge, now)
                linked[pos.ticket] = hedge.ticket
        self._flush()
        in_folder = left_in_folder(self.settings) if empty else ""
        line = adoption_line(self.store, empty, found, reused, in_folder, why)
        if linked:
            pairs = ", ".join(f"{t} with hedge {h}" for t, h in linked.items())
            line += (
                f"; adopted HEDGED with their open hedges (a new flat deadline of "
                f"{self.settings.actions.flat_bars:g} bars from now): {pairs}"
            )
        if magics is None and len({p.magic for p in found}) > 1:
            line += (
                "; with no [plugin.dtms] magic, no magic of the broker's own and no record "
                "to learn ours from, positions of every magic number were adopted (set "
                "magic to adopt only this host's)"
            )
        both = hedge_suspects(found, hedges)
        if both:  # is_hedge says why this is all that can be said
            line += (
                f"; {', '.join(both)} adopted on both sides: one may be a DTMS hedge whose "
                "comment the broker rewrote, defended now as a trade of its own"
            )
        self.log.warning("DTMS: %s", line)
        self._said_unlinked(hedges, recorded, set(linked.values()), magics)

    def _known_tickets(self) -> set[int]:
        """The positions the records account for: their trades and their hedges."""
        return {*self.book.hedge_tickets(), *(rec.ticket for rec in self.book.live())}

    def _hedged_again(self, rec: TradeRecord, hedge: Trade, now: datetime) -> TradeRecord:
        """``rec``, just registered, HEDGED with ``hedge`` (:func:`hedged_again`), written
        as any record is, and its state at once (the exit manager asks it)."""
        rec = hedged_again(rec, hedge, now, self.settings)
        self._persist(rec, now)
        self._put_state(rec, now)
        return rec

    def unlinked_hedges(
        self,
        host: HostView,
        registering: Collection[int],
        read: Callable[[], Iterable[Trade]] | None = None,
    ) -> dict[int, list[Trade]]:
        """:func:`unlinked_hedges` of the broker's positions now, for the registration of
        ``registering`` (tickets), which may bring back a trade whose hedge is open
        (``dtms serve`` after its store was lost: the trade's host registers it again);
        a position registered with them is a trade, never a hedge. Only a batch with a
        ticket of no record asks the broker (a client's repeat of a registration is the
        common case: one terminal round trip each was for nothing); read through
        ``read`` when given (a server's round, which reads them once for all it
        registers). A broker that cannot answer: none, said once per episode (the trade
        is registered HEALTHY, as before)."""
        if all(ticket in self.records for ticket in registering):
            return {}
        try:
            positions = (read or host.broker.positions)()
        except BrokerError as exc:
            meanwhile = (
                "a trade registered now whose hedge is open starts HEALTHY, its hedge unmanaged"
            )
            self._read_failed(REGISTRATION_READ, exc, meanwhile)
            return {}
        self._read_back(REGISTRATION_READ, "registration")
        return unlinked_hedges(positions, self._known_tickets() | set(registering))

    def _said_unlinked(
        self,
        hedges: Mapping[int, list[Trade]],
        recorded: set[int],
        linked: set[int],
        magics: set[int] | None,
    ) -> None:
        """The hedges of ours by their comment that no trade took: not ``linked`` to an
        adopted trade, and of a trade with no record (a recorded trade's journal settles
        its hedge): their trade is not open, or was not adopted. Left alone, and said,
        since nothing closes them."""
        alone = [
            h
            for parent, found in hedges.items()
            if parent not in recorded
            for h in found
            if h.ticket not in linked and (magics is None or h.magic in magics)
        ]
        if alone:
            self.log.warning(
                "DTMS: %d open hedges of no open trade of ours left alone, unmanaged "
                "(close them if they are not wanted): %s", len(alone),
                ", ".join(f"{h.ticket} ({h.comment})" for h in alone),
            )  # fmt: skip

    def _said_left_alone(self, left: list[Trade], magics: set[int], host_magic: int | None) -> None:
        """The positions adoption left alone for their magic number, and where ours came
        from: a WARNING unless ``[plugin.dtms] magic`` says which is ours (the broker's own
        magic is not the only one the host's orders can carry: a strategy may give its
        orders a magic of its own, and such a position left alone goes undefended), INFO
        when the setting said it."""
        self._left_said.update(p.ticket for p in left)
        configured = self.settings.magic is not None
        if configured:
            source = "[plugin.dtms] magic"
        else:
            sources = ["the broker"] if host_magic is not None else []
            if magics - {host_magic}:
                sources.append("our records")
            source = " and ".join(sources)
        self.log.log(
            logging.INFO if configured else logging.WARNING,
            "DTMS: %d open positions of other programs left alone (magic %s; ours: %s, "
            "from %s)%s", len(left), ", ".join(map(str, sorted({p.magic for p in left}))),
            ", ".join(map(str, sorted(magics))), source,
            "; if one is this host's, set [plugin.dtms] magic to its magic number"
            if not configured else "",
        )  # fmt: skip
