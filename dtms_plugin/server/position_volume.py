"""The volume of a registration that sent none: the broker's open position's.

Why: the original DTMS defaulted ``volume`` to 0, and its example client sends
``"volume": 0``; refusing it broke those clients. But the engine closes half and hedges
half of a trade's volume (docs/dtms.md §5), so a trade is never kept without one: the
server reads it from its broker's position at registration, as the engine reads a
volume changed at the broker later (docs/dtms.md §8). When the broker has no such
position (the engine would find the trade gone and close it at once), or one on another
symbol or side, the registration is a 409 naming ``volume`` that says to send it: the
request is well formed, the broker says otherwise (as a 409 says of the stored trade).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from hookspecs import Broker, DefensiveState, SymbolInfo, Trade

from .errors import EngineUnavailable, PositionConflict
from .validation import FieldError, Registration
from .views import record_state, trade_fields


class BrokerPositions:
    """The broker's open positions, read at most once, when first needed: one
    registration round's (:mod:`.rounds`), for the volumes it takes from them and the
    open hedges of the new trades it registers (``LocalStrategy.register_many``). Read
    once per registration, an account of a thousand positions was read a thousand times
    over by a round of as many registrations. On the engine thread."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._read: list[Trade] | BaseException | None = None
        self._by_ticket: dict[int, Trade] | None = None

    def get(self) -> list[Trade]:
        """The positions, read the first time; the broker's error raised again after a
        read that failed (each asker handles it its own way: a 503, or none linked)."""
        if self._read is None:
            try:
                self._read = list(self._broker.positions())
            except Exception as exc:
                self._read = exc
        if isinstance(self._read, BaseException):
            raise self._read
        return self._read

    def of_ticket(self, ticket: int) -> Trade | None:
        """The open position ``ticket``, or None; the broker's error raised as by
        :meth:`get`. From the list, not ``broker.position(ticket)``: the paper broker's
        SQLite cannot look up a ticket past 2**63 - 1, which no broker's position has."""
        if self._by_ticket is None:
            self._by_ticket = {p.ticket: p for p in self.get()}
        return self._by_ticket.get(ticket)

    def said(self, ticket: int) -> Trade | None:
        """:meth:`of_ticket`, or None when the broker cannot say: for the askers that
        take a broker's silence as "no such position" (the registration as sent). Those
        that must tell the two apart call :meth:`of_ticket`, which raises."""
        try:
            return self.of_ticket(ticket)
        except Exception:  # the broker cannot say
            return None

    def held(self, ticket: int) -> Callable[[], Trade | None]:
        """:meth:`said` of ``ticket`` when called: read only by a registration that
        needs it (a CLOSED record's ticket)."""
        return lambda: self.said(ticket)


def position_volume(
    positions: BrokerPositions, reg: Registration, symbol: str, log: logging.Logger
) -> float:
    """The volume of the broker's open position ``reg.ticket`` on ``symbol`` (the
    broker's spelling) and ``reg.direction``; a :class:`PositionConflict` naming volume
    when it has none such, a 503 when the broker cannot say. On the engine thread."""
    try:
        position = positions.of_ticket(reg.ticket)
    except Exception as exc:
        log.error("reading the positions from the broker failed: %r", exc)
        raise EngineUnavailable(
            f"cannot read the positions from the broker: {type(exc).__name__}: {exc}"
        ) from exc
    needed = "0 or absent, it is taken from the broker's open position"
    if position is None:
        raise PositionConflict(
            "volume", f"{needed}, and the broker has no position {reg.ticket}: send it"
        )
    if position.symbol != symbol or position.direction != reg.direction:
        raise PositionConflict(
            "volume",
            f"{needed}, and the broker's position {reg.ticket} is a {position.direction}"
            f" on {position.symbol}, not a {reg.direction} on {symbol}: send it",
        )
    return position.volume


def volume_refused(
    reg: Registration, info: SymbolInfo, positions: BrokerPositions
) -> FieldError | None:
    """A 400 naming ``volume`` when the broker could place no order of it: below the
    symbol's minimum (no close or hedge of it either), or, sent by the client, above its
    maximum (``1e12`` lots was kept as a trade the broker would refuse every order of)
    while the broker lists no position of the ticket (whose volume is the truth, and may
    pass the maximum of one order on a netting account). None when it is fine; an
    :class:`EngineUnavailable` (a 503) when that must be asked and the broker cannot say:
    a 400 is final to a client, and a real position of a netting account above one
    order's maximum would have been dropped from its outbox, undefended."""
    assert reg.volume is not None
    if info.volume_min > 0 and reg.volume < info.volume_min * (1 - 1e-9):
        return FieldError(
            "volume",
            f"below the minimum volume of {info.name} at the broker "
            f"({info.volume_min:g}), got {reg.volume:g}",
        )
    if (
        reg.volume_sent
        and info.volume_max > 0
        and reg.volume > info.volume_max * (1 + 1e-9)
        and _listed(positions, reg.ticket) is None
    ):
        return FieldError(
            "volume",
            f"above the maximum volume of {info.name} at the broker "
            f"({info.volume_max:g}), got {reg.volume:g}",
        )
    return None


def _listed(positions: BrokerPositions, ticket: int) -> Trade | None:
    """The broker's position ``ticket``, or None when it lists none; a 503 when it
    cannot say (:func:`volume_refused`)."""
    try:
        return positions.of_ticket(ticket)
    except Exception as exc:
        raise EngineUnavailable(
            f"cannot read the positions from the broker: {type(exc).__name__}: {exc}"
        ) from exc


def kept_volume(record: Mapping[str, Any] | None, reg: Registration, symbol: str) -> float | None:
    """The volume the live trade kept in ``record`` was registered with, when ``reg`` is a
    repeat of it (the same ``symbol``, the broker's spelling, and side): what a repeat
    without a volume is taken with when the broker has no such position (the original's
    clients send volume 0 on every registration), so it is answered by that record. A
    CLOSED record (a reused ticket, or the trade closed) or another trade gives None:
    the 409 on volume stands."""
    if record is None or record_state(record) == DefensiveState.CLOSED.value:
        return None
    fields = trade_fields(record)
    if fields.get("symbol") != symbol or fields.get("direction") != reg.direction:
        return None
    value = record.get("initial_volume", fields.get("volume"))
    return float(value) if isinstance(value, int | float) and value > 0 else None
