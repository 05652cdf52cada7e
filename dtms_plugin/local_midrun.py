"""Adoption mid-run (docs/dtms.md §8): a position of ours that appears at the broker while
the host runs, with no record, is adopted as start-up adopts it
(:meth:`dtms_plugin.local_adoption.Adopting._adopt`). :class:`MidRunAdoption` is a mixin
of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes
declared here; its cycle asks :meth:`MidRunAdoption._adopt_strays` with the positions it
read.

Why: start-up was the only adoption. A position with the host's magic that appeared later
(another program's order with our magic, one opened by hand with it, an order of unknown
outcome that filled after its answer was lost) was never defended, and nothing said so.

What waits a cycle: a position is adopted when two reads of the positions in a row list
it with no record. The host announces its own entries (``on_trade_executed``) before
the cycle's hook, and DTMS its own re-adds right after it sent them, within the cycle: a
position seen once may be one of them, about to be registered. So may a position a hedge
or re-add of unknown outcome opened, which the journal settles (and claims) first: none is
adopted on a symbol whose trade has such an action unsettled.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import ActionKind, HostView, Trade

from .book import TradeBook
from .engine import TradeRecord, unsettled
from .local_adoption import broker_magic, our_magics, to_adopt, unlinked_hedges
from .settings import DtmsSettings

#: what the adoption WARNING says of a position adopted mid-run
MIDRUN = (
    "a position of ours appeared while the host ran, with no record (an order of another "
    "program or one opened by hand with our magic number, or an order of unknown outcome "
    "that filled late)"
)
#: the actions whose position a journal entry claims when it settles (local_reconcile)
_OPENING = (ActionKind.HEDGE, ActionKind.RE_ADD)


class MidRunAdoption:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    adopt: bool
    #: whether positions are watched for one to adopt mid-run (a live or serving host's
    #: engine: in a simulated run every position is an order of the host's, announced)
    _strays_watched: bool
    #: the positions of ours with no record the last read found (their tickets)
    _strays: set[int]
    #: other programs' positions said left alone (:meth:`_said_new_others`)
    _left_said: set[int]

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        def _adopt(
            self, host: HostView, positions: list[Trade], now: datetime, why: str | None = None
        ) -> None: ...

        def _said_left_alone(
            self, left: list[Trade], magics: set[int], host_magic: int | None
        ) -> None: ...

    def _watch_strays(self, host: HostView) -> None:
        """At start-up: watch for positions to adopt mid-run, unless this engine adopts
        nothing (``dtms serve``) or the run is simulated (its positions are all the host's
        own orders, each announced)."""
        self._strays_watched = self.adopt and host.mode != "simulated"

    def _adopt_strays(self, host: HostView, positions: list[Trade], now: datetime) -> None:
        """Adopt the positions of ours with no record that the previous read listed as
        such too (the module says why a cycle), with the hedges their comment names."""
        if not self._strays_watched:
            return
        host_magic = broker_magic(host)
        magics = our_magics(self.settings.magic, self.records, host_magic)
        unrecorded = to_adopt(positions, self.records, self.book.hedge_tickets())
        self._said_new_others(unrecorded, positions, magics, host_magic)
        held = {
            rec.symbol
            for rec in self.book.live()
            if any(e.kind in _OPENING for e in unsettled(rec))
        }
        stray = {
            p.ticket
            for p in unrecorded
            if (magics is None or p.magic in magics) and p.symbol not in held
        }
        due = stray & self._strays
        self._strays = stray - due
        if not due:
            return
        hedges = unlinked_hedges(positions, set(self.book.hedge_tickets()))
        theirs = {h.ticket for t in due for h in hedges.get(t, ())}
        batch = [p for p in positions if p.ticket in due or p.ticket in theirs]
        self._adopt(host, batch, now, MIDRUN)

    def _said_new_others(
        self,
        unrecorded: list[Trade],
        positions: list[Trade],
        magics: set[int] | None,
        host_magic: int | None,
    ) -> None:
        """A position of another magic number that appeared mid-run (one opened by hand,
        another program's) is left alone as at start-up, and said so once, as start-up
        says it: an unset or wrong magic would otherwise leave the host's own undefended
        without a word."""
        listed = {p.ticket for p in positions}
        self._left_said &= listed  # closed ones are forgotten: the set stays small
        if magics is None:
            return
        new = [p for p in unrecorded if p.magic not in magics and p.ticket not in self._left_said]
        if new:
            self._said_left_alone(new, magics, host_magic)

    def _strays_due(self) -> bool:
        """Whether a cycle with nothing to defend still reads the positions: while they
        are watched for one to adopt (:meth:`_watch_strays`)."""
        return self._strays_watched
