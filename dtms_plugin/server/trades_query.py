"""The query of ``GET /dtms/trades``: which parameters it takes and what each means.

Why a parameter the route does not know is a 400 rather than ignored (as on every GET
route, :mod:`.query`): ``?state=HEDGED`` or ``?symbol=XAUUSD`` used to answer every
trade, which a caller reads as "these are the hedged ones" (docs/architecture.md, "The
DTMS API"). A parameter that takes one value and is given twice is a 400 too, as on
``/dtms/actions``: which one counts would be a guess. ``state`` and ``symbol`` filter a
list of ``tickets`` as they filter every trade: a filter silently dropped would answer a
CLOSED trade to a caller who asked for HEALTHY ones. ``symbol`` reads a name as
registration does (``xauusd`` is the ``XAUUSD`` it registered): an exact match answered
``total: 0`` for the very spelling registration accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from multidict import MultiMapping

from hookspecs import DefensiveState

from . import limits
from .query import check_names as query_names
from .validation import FieldError, parse_ticket_list, show, symbol_spellings

#: Every parameter the route reads; ``ticket`` only to say it is one letter short.
KNOWN = ("tickets", "tickets[]", "limit", "offset", "after", "state", "symbol", "journal")
#: Parameters that may be repeated (each value, or comma-separated values, adds to a list).
LISTS = ("tickets", "tickets[]", "state", "symbol")
STATE_NAMES = tuple(s.value for s in DefensiveState)


@dataclass(frozen=True)
class Filters:
    """Which trades of the every-trade view an answer keeps (``None``: any)."""

    states: frozenset[str] | None = None
    symbols: frozenset[str] | None = None

    def keeps(self, state: str, symbol: object) -> bool:
        if self.states is not None and state not in self.states:
            return False
        return self.symbols is None or symbol in self.symbols


def check_names(query: MultiMapping[str]) -> None:
    """A 400 naming the first parameter the route does not take, or a one-value
    parameter given more than once."""
    if "ticket" in query and "tickets" not in query:  # one letter short: not "every trade"
        raise FieldError("ticket", "this path takes tickets=1,2,3 (GET /dtms/trade/T for one)")
    query_names(query, KNOWN, lists=LISTS)


def _listed(query: MultiMapping[str], name: str) -> list[str]:
    """Every value of ``name``, repeated or comma-separated; an empty one is a 400."""
    values = [v.strip() for raw in query.getall(name, []) for v in raw.split(",")]
    if any(not v for v in values):
        raise FieldError(name, "an empty value; expected one or more, comma-separated")
    return values


def ticket_list(values: Sequence[str], *, limit: int) -> list[int]:
    """The tickets of every ``tickets`` value, separated by commas or spaces: a ``+`` in
    a query is a space, so ``tickets=1+2`` is ``1 2`` (a client that joins them with
    spaces, or escapes its commas' spaces, means the same list as ``1,2``)."""
    joined = re.sub(f"[{limits.SPACES}]+", ",", ",".join(values))
    return parse_ticket_list(joined, limit=limit)


def parse_filters(query: MultiMapping[str]) -> Filters:
    """``state`` (DefensiveState names, any case) and ``symbol`` (as registration reads
    one: as sent, else in upper or lower case, :func:`.validation.symbol_spellings`), for
    every trade and for a list of ``tickets`` alike (where ``limit`` and ``offset`` are
    not used, though a bad one is still a 400: a list of tickets is answered whole)."""
    states = symbols = None
    if "state" in query:
        wanted = [v.upper() for v in _listed(query, "state")]
        unknown = [v for v in wanted if v not in STATE_NAMES]
        if unknown:
            allowed = ", ".join(STATE_NAMES)
            raise FieldError("state", f"unknown state {show(unknown[0])}; one of {allowed}")
        states = frozenset(wanted)
    if "symbol" in query:
        symbols = frozenset(n for v in _listed(query, "symbol") for n in symbol_spellings(v))
    return Filters(states, symbols)


def wants_journal(query: MultiMapping[str]) -> bool:
    """``journal=0``: each trade without its journal (the dashboard's light view)."""
    value = query.get("journal")
    if value is None or value == "1":
        return True
    if value == "0":
        return False
    raise FieldError("journal", f"expected 0 or 1, got {show(value)}")
