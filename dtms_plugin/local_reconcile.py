"""Start-up reconciliation of the local strategy's records with the broker's positions
(docs/dtms.md §8): which open positions DTMS must take on although it holds no live
record of them. Split from :mod:`dtms_plugin.local` so the rules read on their own.

Why: a store that is missing, emptied or damaged (moved aside) must never leave open
positions undefended, and a broker that hands out a ticket again (a fresh paper account,
another server behind the same state folder) must not make a new position look like the
closed trade that once had its number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hookspecs import Trade

from .engine import HEDGE_COMMENT, TradeRecord
from .store import StoreProtocol

_HEDGE_PREFIX = HEDGE_COMMENT.split("{", 1)[0]


def is_hedge(trade: Trade) -> bool:
    """One of DTMS's own hedges: never a defended trade of its own."""
    return trade.comment.startswith(_HEDGE_PREFIX)


def same_trade(rec: TradeRecord, trade: Trade) -> bool:
    """Whether ``trade`` is the position ``rec`` was made for: the same ticket, opening
    time and entry price (a reused ticket differs in at least one of them)."""
    return (
        rec.ticket == trade.ticket
        and rec.opened_at == trade.opened_at
        and abs(rec.entry_price - trade.entry_price) <= 1e-9 * max(1.0, abs(rec.entry_price))
    )


def to_adopt(
    positions: Iterable[Trade],
    records: Mapping[int, TradeRecord],
    hedges: Iterable[int],
    magic: int | None,
) -> list[Trade]:
    """Open positions DTMS must register fresh: with our magic number (any, when unset),
    not a hedge, and with no record, or only the CLOSED record of another trade that had
    the same ticket."""
    ours = set(hedges)
    out = []
    for pos in positions:
        if is_hedge(pos) or pos.ticket in ours or (magic is not None and pos.magic != magic):
            continue
        rec = records.get(pos.ticket)
        if rec is None or (not rec.active and not same_trade(rec, pos)):
            out.append(pos)
    return out


def adoption_line(
    store: StoreProtocol, empty: bool, adopted: list[Trade], reused: list[int]
) -> str:
    """The WARNING that says what was adopted and why: the store was damaged (and where
    it was kept), missing, or empty while positions were open; or positions had no
    record; and which tickets were reused (their closed records archived). How it was
    opened only the diskcache store says (a Redis store: as found)."""
    opened_as = getattr(store, "opened_as", "existing")
    where = getattr(store, "directory", None) or getattr(store, "location", "")
    if opened_as == "damaged":
        kept = getattr(store, "kept_aside", None)
        why = f"the store was damaged (kept aside at {kept}) while positions were open"
    elif opened_as == "new":
        why = f"the store in {where} was missing while positions were open"
    elif empty:
        why = f"the store in {where} was empty while positions were open"
    else:
        why = "open positions with no record of theirs"
    tickets = ", ".join(str(p.ticket) for p in adopted)
    line = f"{why}: adopted {len(adopted)}, managed from now on: tickets {tickets}"
    if reused:
        line += f" (tickets {', '.join(map(str, reused))} reused: closed records archived)"
    return line
