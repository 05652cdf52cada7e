"""A position the trade server closed and opened again for its own purposes.

Some brokers charge the swap at rollover by closing every position and opening it again
(MQL5 reference, POSITION_TICKET: the ticket "is changed as a result of service
operations on the server, for example, when charging swaps with position re-opening. To
find an order used to open a position, apply the POSITION_IDENTIFIER property"); an
exchange account's clearing does the same at its clearing price. The position gets a new
ticket and, usually, the rollover price as its ``price_open``; its identifier stays, and
its deals (``history_deals_get(position=identifier)``) gain a close and an open of the
same lots at the same price: a *service pair*, not the trade's close (docs/mt5.md, "A
position re-opened by the server").

A position's identifier never opens again once the position has closed: a netting
account's next position on the symbol is a new one, with its own identifier. So an
opening deal that follows a close which left no lots open is a re-open, and that close
its service close, whatever reason the broker wrote on them. A service close whose
re-open the terminal's history does not show yet (it trails the deals by a moment) is
known by its reason, ``DEAL_REASON_ROLLOVER`` or ``DEAL_REASON_VMARGIN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .mt5_convert import ServerClock, as_dict

Deal = dict[str, Any]

#: ``DEAL_ENTRY_*``: in, out, in/out (a netting reversal), out by an opposite position
DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY = 0, 1, 2, 3
#: ``DEAL_REASON_ROLLOVER``, ``DEAL_REASON_VMARGIN``: a deal the server made to charge a
#: swap, or a variation margin, by closing the position and opening it again
SERVICE_REASONS = frozenset({7, 8})
#: ``DEAL_REASON_SPLIT``: the server closed the position and opened it again at a split's
#: price and lots; no re-open to undo (its price is the one the symbol trades at now)
DEAL_REASON_SPLIT = 9
#: lots closer than this are the same volume (volumes are float sums of steps)
LOTS_EPS = 1e-9


def sorted_deals(raw: Any) -> list[Deal]:
    """The rows of ``history_deals_get`` as dicts, oldest first (ties by ticket)."""
    return sorted((as_dict(d) for d in raw), key=lambda d: (int(d["time_msc"]), int(d["ticket"])))


def last_flip(deals: Sequence[Deal]) -> int:
    """The index of the last netting reversal (``DEAL_ENTRY_INOUT``) among ``deals``, or
    -1: the side open now (or that closed last) starts there."""
    return max((i for i, d in enumerate(deals) if int(d["entry"]) == DEAL_ENTRY_INOUT), default=-1)


def service_deals(deals: Sequence[Deal], held: float = 0.0) -> set[int]:
    """The tickets of the service pairs among ``deals`` (one side of a position, oldest
    first, ``held`` lots open before the first): each close that left no lots open and
    the open that followed it, and a last close marked ``DEAL_REASON_ROLLOVER`` or
    ``DEAL_REASON_VMARGIN`` that left none, its re-open not in view yet. A split's close
    and open are none: they change the position's price and lots for good."""
    service: set[int] = set()
    emptied: Deal | None = None  # a close that left no lots open, nothing after it yet
    for d in deals:
        entry, lots = int(d["entry"]), float(d["volume"])
        if entry == DEAL_ENTRY_IN:
            split = DEAL_REASON_SPLIT in (_reason(d), -1 if emptied is None else _reason(emptied))
            if emptied is not None and not split:
                service.update((int(emptied["ticket"]), int(d["ticket"])))
            emptied = None
            held += lots
        else:
            held -= lots
            emptied = d if held <= LOTS_EPS else None
    if emptied is not None and _reason(emptied) in SERVICE_REASONS:
        service.add(int(emptied["ticket"]))
    return service


def _reason(deal: Deal) -> int:
    return int(deal.get("reason", -1))


def opening(
    api: Any, clock: ServerClock, identifier: int, volume: float
) -> tuple[float, datetime] | None:
    """The entry price and time of the open position ``identifier`` (``volume`` lots
    open) as its trade was entered, from its deals with the service pairs left out: what
    a re-open re-set is undone. The price is the one MetaTrader keeps for a position: an
    add averages it by volume, a partial close leaves it. ``None`` when the history
    cannot say (it trails the deals, or does not show all of the lots open)."""
    raw = api.history_deals_get(position=identifier)
    if not raw:
        return None
    deals = sorted_deals(raw)
    flip = last_flip(deals)
    held, price, first = 0.0, 0.0, None
    if flip >= 0:  # the new side opened with the reversing deal's lots beyond the old side's
        turn = deals[flip]
        held = float(turn["volume"]) - open_lots(deals[:flip])
        price, first = float(turn["price"]), turn
    later = deals[flip + 1 :]
    service = service_deals(later, held)
    for d in later:
        if int(d["ticket"]) in service:
            continue
        lots = float(d["volume"])
        if int(d["entry"]) == DEAL_ENTRY_IN:
            price = (price * held + float(d["price"]) * lots) / (held + lots)
            held += lots
            first = first or d
        else:
            held -= lots
    if first is None or abs(held - volume) > LOTS_EPS:
        return None
    return round(price, 10), clock.to_utc(first["time"])


def open_lots(deals: Sequence[Deal]) -> float:
    """The volume ``deals`` leave open: an in adds, an out takes away, a reversal's volume
    less what was open is the new side's."""
    held = 0.0
    for d in deals:
        entry, lots = int(d["entry"]), float(d["volume"])
        if entry == DEAL_ENTRY_IN:
            held += lots
        elif entry == DEAL_ENTRY_INOUT:
            held = lots - held
        else:
            held -= lots
    return round(held, 8)
