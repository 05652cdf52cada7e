"""A closed position from the trade server's history: what ``on_trade_closed`` promises.

A position the loop finds gone is reported as it closed: the last of its closing deals
(price, time, volume) and the result of all its deals, a partial close's included, with
their swap, commission and fee (a MetaTrader position's profit is only its open part's,
so the last view before a stop was hit says neither the stop's price nor the partials').
The deals of a position are ``history_deals_get(position=…)`` (MQL5 reference,
``HistoryDealsGet``) of its ``identifier`` (``POSITION_IDENTIFIER``, the deals'
``DEAL_POSITION_ID``), which the broker presents as the position's ticket; a deal's
``entry`` says whether it opened (``DEAL_ENTRY_IN``), closed (``OUT``, ``OUT_BY``) or
reversed (``INOUT``) it. The close and open the server made to re-open the position (a
swap charged so, :mod:`.mt5_reopen`) are no part of the trade's opening or closing: the
trade was entered at its first opening deal's price and closed by the deals that really
closed it, while their results (the profit up to the re-open, the swap) count in its
result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hookspecs import CloseReason, Trade

from .mt5_convert import ServerClock
from .mt5_reopen import (
    DEAL_ENTRY_IN,
    DEAL_ENTRY_INOUT,
    DEAL_ENTRY_OUT,
    DEAL_ENTRY_OUT_BY,
    Deal,
    last_flip,
    open_lots,
    service_deals,
    sorted_deals,
)

_CLOSING = frozenset({DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY})


def _result(deal: Deal) -> float:
    return sum(float(deal.get(k) or 0.0) for k in ("profit", "swap", "commission", "fee"))


#: ``DEAL_REASON_*`` of a closing deal the broker made itself: the stop, the target
_BY_BROKER: dict[int, CloseReason] = {4: "stop_loss", 5: "take_profit"}
#: ``DEAL_REASON_SO``: the broker closed the position at a margin stop-out. hookspecs'
#: ``CloseReason`` has no word for it, so plugins hear it as the loop's phase reason
#: (``external``) and the run's summary counts it (docs/mt5.md).
DEAL_REASON_SO = 6


def closed_position(
    api: Any, clock: ServerClock, ticket: int
) -> tuple[Trade, CloseReason | None, int] | None:
    """Position ``ticket`` (its identifier) as it closed, from its deals, with why: its
    last closing deal's ``reason``, ``DEAL_REASON_SL`` as ``stop_loss`` and
    ``DEAL_REASON_TP`` as ``take_profit`` (anything else, an order or a stop-out, is
    ``None``), and that ``DEAL_REASON_*`` itself (-1 when the deal has none). ``None``
    when the server's history does not show it closed yet (it lags the positions by a
    moment), shows lots of it still open (only a partial close so far, or a re-open's
    close without its open yet) or cannot be read: the loop then asks again
    (hostapp/loop_gone.py).

    A netting reversal (``INOUT``) ends one side and opens the other under the same
    identifier, which the broker presents as the position's ticket; the old side was
    reported when the order reversed it (hostapp/loop.py), so
    the side that closed here starts at the last reversal, and the reversing deal's own
    result (the old side's) is not counted again."""
    side = _closed_side(api, ticket)
    if side is None:
        return None
    last = side.closing[-1]
    trade = _as_trade(ticket, clock, side, last, float(last["volume"]))
    trade = replace(trade, profit=round(sum(_result(d) for d in side.later), 2))
    reason = int(last.get("reason", -1))
    return trade, _BY_BROKER.get(reason), reason


def closing_parts(api: Any, clock: ServerClock, ticket: int) -> list[Trade] | None:
    """Position ``ticket``'s closing deals one by one, each as a closed part of the
    position (its volume, price, time and result; the first carries the opening deals'
    costs too), as the paper broker books a partial close: the run's summary counts the
    R of each part (a trade DTMS closed half of at +1R and the rest at its stop is not
    the last half's move alone). A re-open's service pair is no part: its result (the
    lots' profit up to the re-open, the swap) goes to the parts that closed those lots
    after it, by their volume, so a part's result is what its lots made from the trade's
    entry, with their share of the swap. Their results add up to
    :func:`closed_position`'s; ``None`` when it would be."""
    side = _closed_side(api, ticket)
    if side is None:
        return None
    results = [_result(d) for d in side.closing]
    results[0] += sum(
        _result(d)
        for d in side.later
        if int(d["entry"]) not in _CLOSING and int(d["ticket"]) not in side.service
    )
    at = {int(d["ticket"]): i for i, d in enumerate(side.closing)}
    after: list[int] = []  # the indexes of the real closes after each deal, walked backwards
    for d in reversed(side.later):
        number = int(d["ticket"])
        if number in at:
            after.append(at[number])
        elif number in side.service:
            lots = sum(float(side.closing[i]["volume"]) for i in after)
            for i in after or [len(results) - 1]:  # (a closed side ends with a real close)
                share = float(side.closing[i]["volume"]) / lots if after else 1.0
                results[i] += _result(d) * share
    parts: list[Trade] = []
    total = round(sum(results), 2)
    for i, deal in enumerate(side.closing):
        part = _as_trade(ticket, clock, side, deal, float(deal["volume"]))
        # rounded part by part, the last taking what the rounding left: the parts add up
        # to the trade's result to the cent
        result = total - sum(p.profit for p in parts) if i == len(results) - 1 else results[i]
        parts.append(replace(part, profit=round(result, 2)))
    return parts


class _Side:
    """The side of a position that closed: its deals after its last reversal
    (``later``), what opened it (``opened``: each deal with the lots it opened), its
    closing deals, its first deal (``first``, standing for its opening when none is in
    view), and the tickets of its re-opens' service pairs (``service``), which are in
    ``later`` but neither in ``opened`` nor in ``closing``."""

    def __init__(
        self,
        later: list[Deal],
        opened: list[tuple[Deal, float]],
        closing: list[Deal],
        first: Deal,
        service: set[int],
    ) -> None:
        self.later, self.opened, self.closing, self.first = later, opened, closing, first
        self.service = service


def _closed_side(api: Any, ticket: int) -> _Side | None:
    """The side of position ``ticket`` that closed; ``None`` when the history shows no
    close of it yet, or lots of it still open."""
    raw = api.history_deals_get(position=ticket)
    if not raw:
        return None
    deals = sorted_deals(raw)
    flip = last_flip(deals)
    before, side = deals[: max(flip, 0)], deals[max(flip, 0) :]
    later = side[1:] if flip >= 0 else side
    start = float(side[0]["volume"]) - open_lots(before) if flip >= 0 else 0.0
    service = service_deals(later, start)
    real = [d for d in later if int(d["ticket"]) not in service]
    closing = [d for d in real if int(d["entry"]) in _CLOSING]
    if not closing:
        return None
    # what opened this side, with the lots each opened
    opened = [(d, float(d["volume"])) for d in real if int(d["entry"]) == DEAL_ENTRY_IN]
    if flip >= 0:
        opened.insert(0, (side[0], start))
    if opened and sum(n for _, n in opened) - sum(float(d["volume"]) for d in closing) > 1e-9:
        # a partial close: the position is still open, its last close not in view yet (a
        # terminal whose list lacks the position for a moment must not make it closed)
        return None
    return _Side(later, opened, closing, side[0], service)


def _as_trade(ticket: int, clock: ServerClock, side: _Side, deal: Deal, volume: float) -> Trade:
    """The position closed (or the part of it closed) by ``deal``: its side is its opening
    deal's; without one in view, the opposite of the deal that closed it (a sell closes a
    buy); its entry the opening deals' volume-weighted price."""
    opened = side.opened
    last = side.closing[-1]
    buy = int(opened[0][0]["type"]) == 0 if opened else int(last["type"]) == 1
    first = opened[0][0] if opened else side.first
    lots = sum(n for _, n in opened)
    entry = float(first["price"])
    if len(opened) > 1 and lots > 0:  # grown by several deals: their volume-weighted price
        entry = round(sum(float(d["price"]) * n for d, n in opened) / lots, 10)
    return Trade(
        ticket=ticket,
        symbol=str(deal["symbol"]),
        direction="buy" if buy else "sell",
        volume=volume,
        entry_price=entry,
        stop_loss=None,
        take_profit=None,
        opened_at=clock.to_utc(first["time"]),
        magic=int(first["magic"]),
        comment=str(first["comment"]),
        profit=0.0,
        close_price=float(deal["price"]),
        closed_at=clock.to_utc(deal["time"]),
    )
