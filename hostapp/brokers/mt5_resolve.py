"""What a deal did when ``order_send`` could not say (docs/mt5.md, "What happens when the
terminal does not answer").

A timed-out order may have executed, may still wait on the server, or may never have
arrived. What the server keeps is: the order's deals (``history_deals_get``), an order
still waiting (``orders_get``) and the positions. They are matched by magic, symbol, side
and a time window, and one deal answers for one operation only: deals already accounted
for are skipped, and so are the deals of positions open before the order was sent. Other
operations whose outcome stayed unknown may land late, inside that window: a deal of more
lots than asked is never this order's, and one still carrying such an operation's comment
is that operation's (brokers rewrite comments, so a comment only ever rules a deal out);
one of fewer lots is an IOC order's part fill.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from hookspecs import BrokerError

from .mt5_convert import as_dict, identity, last_error
from .mt5_reopen import SERVICE_REASONS

#: Seconds before the send that still count as "this order": absorbs the difference
#: between the local clock and the trade server's.
WINDOW_SLACK = 30
#: ``history_deals_get`` is asked a day wider on each side and filtered here, so an offset
#: that is wrong by hours cannot hide a deal.
HISTORY_MARGIN = 86_400
#: ``DEAL_ENTRY_IN``: a deal that opens (or adds to) a position.
DEAL_ENTRY_IN = 0
#: Lots closer than this are the same volume (volumes are float sums of steps).
LOTS_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Footprint:
    """One deal operation as the server records it. ``side`` is ``ORDER_TYPE_BUY``/
    ``_SELL``, whose values equal ``DEAL_TYPE_BUY``/``_SELL``."""

    symbol: str
    side: int
    magic: int
    since: int = 0  # server-clock seconds, set when the request is sent
    position: int | None = None  # the position a close acts on (its identity)
    held: float = 0.0  # that position's volume before the close
    before: frozenset[int] = frozenset()  # positions open before an open was sent (identities)
    volume: float = 0.0  # the lots asked; 0: any
    comment: str = ""  # the comment sent


@dataclass(frozen=True, slots=True)
class Fill:
    """What executed: lots, the position they belong to (when known) and the deals."""

    volume: float
    position: int | None = None
    deals: tuple[int, ...] = ()
    order: int | None = None


def _rows(raw: Any, call: str, api: Any) -> list[dict[str, Any]]:
    if raw is None:
        raise BrokerError(f"{call} failed: last_error={last_error(api)}")
    return [as_dict(r) for r in raw]


#: A candidate fill, with the server time it happened and the comment it carries.
Candidate = tuple[Fill, int, str]


def find_deals(
    api: Any,
    fp: Footprint,
    order: int | None,
    seen: Collection[int],
    server_now: int,
    hedging: bool,
    pending: Sequence[Footprint] = (),
) -> Fill | None:
    """The deals of this operation, grouped by their order; ``None`` when there are none.
    On a hedging account an open's deal enters the market (``DEAL_ENTRY_IN``) of a position
    that was not open before the send. ``pending``: operations whose outcome stayed
    unknown, whose late deals are not this one's (:func:`_choose`)."""
    if fp.position is not None:
        raw, call = api.history_deals_get(position=fp.position), "history_deals_get(position)"
    else:
        lo, hi = fp.since - HISTORY_MARGIN, server_now + HISTORY_MARGIN
        raw, call = api.history_deals_get(lo, hi), "history_deals_get(from, to)"
    opening = hedging and fp.position is None
    mine = [
        d
        for d in _rows(raw, call, api)
        if int(d["ticket"]) not in seen
        and str(d["symbol"]) == fp.symbol
        and int(d["type"]) == fp.side
        and int(d["magic"]) == fp.magic
        and int(d["time"]) >= fp.since
        and (order is None or int(d["order"]) == order)
        and int(d.get("reason", -1)) not in SERVICE_REASONS  # the server's own re-open
        and not (opening and int(d["entry"]) != DEAL_ENTRY_IN)
        and not (opening and int(d["position_id"]) in fp.before)
    ]
    mine.sort(key=lambda d: (int(d["time_msc"]), int(d["ticket"])))
    orders: dict[int, list[dict[str, Any]]] = {}
    for d in mine:
        orders.setdefault(int(d["order"]), []).append(d)
    candidates = [
        (
            Fill(
                volume=round(sum(float(d["volume"]) for d in deals), 8),
                position=int(deals[0]["position_id"]) or None,
                deals=tuple(int(d["ticket"]) for d in deals),
                order=number,
            ),
            int(deals[0]["time"]),
            str(deals[0].get("comment") or ""),
        )
        for number, deals in orders.items()
    ]
    return _choose(candidates, fp, pending if order is None else ())  # 10008 named its order


def find_in_positions(
    api: Any,
    fp: Footprint,
    hedging: bool,
    pending: Sequence[Footprint] = (),
    order: int | None = None,
) -> Fill | None:
    """What the positions show when the history has not caught up: a new position of ours
    (hedging opens: when the server's answer named the ``order`` (10008), only the
    position it opened, whose identifier is that ticket (MQL5 reference,
    POSITION_IDENTIFIER), as another program's of the same lots may be older; else one
    chosen as deals are), or the closed position gone or smaller."""
    rows = _rows(api.positions_get(symbol=fp.symbol), "positions_get", api)
    if fp.position is not None:
        now = next((p for p in rows if identity(p) == fp.position), None)
        left = float(now["volume"]) if now is not None else 0.0
        done = round(fp.held - left, 8)
        return Fill(done, fp.position) if done > LOTS_EPS else None
    if not hedging:
        return None  # a netting position's change cannot be told apart from others'
    candidates = [
        (Fill(float(p["volume"]), identity(p)), int(p["time"]), str(p.get("comment") or ""))
        for p in rows
        if identity(p) not in fp.before
        and int(p["type"]) == fp.side
        and int(p["magic"]) == fp.magic
    ]
    if order is not None:  # the server named it: no other position is this order's
        candidates = [c for c in candidates if c[0].position == order]
        return _choose(candidates, fp, ())
    return _choose(candidates, fp, pending)


def _choose(
    candidates: list[Candidate], fp: Footprint, pending: Sequence[Footprint]
) -> Fill | None:
    """The oldest candidate of the lots asked, else the oldest of fewer (an IOC order
    fills part); never one of more lots than asked, nor one that is another unknown
    operation's (:func:`_theirs`)."""
    mine = [
        fill
        for fill, time, comment in candidates
        if not (fp.volume and fill.volume > fp.volume + LOTS_EPS)
        and not _theirs(fill.volume, time, comment, fp, pending)
    ]
    whole = [f for f in mine if f.volume >= fp.volume - LOTS_EPS]
    return whole[0] if whole else (mine[0] if mine else None)


def _theirs(
    volume: float, time: int, comment: str, fp: Footprint, pending: Sequence[Footprint]
) -> bool:
    """A fill made after another operation of unknown outcome with the same symbol, side,
    magic and position was sent, that is that operation's: it carries that operation's
    comment and not this one's. Without that evidence (a broker that rewrites comments)
    a fill stays this operation's, as the oldest one unclaimed: left to nobody, a
    position the server opened would be one no plugin was told of, and so one nobody
    defends."""
    return any(
        (p.symbol, p.side, p.magic, p.position) == (fp.symbol, fp.side, fp.magic, fp.position)
        and time >= p.since
        and bool(comment)
        and comment == p.comment != fp.comment
        for p in pending
    )


def claim_deals(api: Any, fp: Footprint, fill: Fill, seen: Collection[int]) -> tuple[int, ...]:
    """The deals behind a fill that was read from the positions while the history lagged,
    once the history shows them; empty while it does not. Until they are claimed they could
    be taken for a later operation's deals."""
    if fill.position is None:
        return ()
    rows = _rows(api.history_deals_get(position=fill.position), "history_deals_get(position)", api)
    mine = sorted(
        (
            d
            for d in rows
            if int(d["ticket"]) not in seen
            and int(d["type"]) == fp.side
            and int(d["magic"]) == fp.magic
            and int(d["time"]) >= fp.since
            and int(d.get("reason", -1)) not in SERVICE_REASONS
        ),
        key=lambda d: (int(d["time_msc"]), int(d["ticket"])),
    )
    claimed: list[int] = []
    total = 0.0
    for d in mine:
        if total >= fill.volume - 1e-9:
            break
        claimed.append(int(d["ticket"]))
        total += float(d["volume"])
    return tuple(claimed) if total >= fill.volume - 1e-9 else ()


def still_waiting(api: Any, fp: Footprint, order: int | None) -> bool:
    """An order of this operation accepted by the server and not executed yet."""
    rows = _rows(api.orders_get(symbol=fp.symbol), "orders_get", api)
    return any(
        int(o["type"]) == fp.side
        and int(o["magic"]) == fp.magic
        and int(o["time_setup"]) >= fp.since
        and (order is None or int(o["ticket"]) == order)
        and (fp.position is None or int(o["position_id"]) == fp.position)
        for o in rows
    )


def position_of_order(api: Any, order: int) -> int | None:
    """The position an executed order opened or changed: its deals' ``position_id``;
    ``None`` while the history does not show them. ``history_deals_get(ticket=)`` takes
    the ORDER's ticket (MetaTrader5 Python reference, history_deals_get: "Ticket of an
    order (stored in DEAL_ORDER) all deals should be received for"), never a deal's: deals
    are numbered apart from orders, so a deal's number may be another order's."""
    raw = api.history_deals_get(ticket=order)
    rows = [as_dict(r) for r in raw or ()]
    return next((int(d["position_id"]) for d in rows if int(d["position_id"])), None)
