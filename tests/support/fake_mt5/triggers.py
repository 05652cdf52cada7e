"""Stops and targets the price has reached: the trade server closes those positions at
once (MQL5 reference, ``DEAL_REASON_SL``: "the deal was executed as a result of Stop
Loss activation"; ``DEAL_REASON_TP`` likewise), at the price that reached the level."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import FakePosition, FakeSymbol
from .shapes import CONSTANTS


def crossed(
    positions: Iterable[FakePosition], symbols: Mapping[str, FakeSymbol]
) -> list[tuple[int, float, int]]:
    """``(ticket, price, DEAL_REASON_*)`` of each position whose stop or target the
    price that closes it (bid for a buy, ask for a sell) has reached."""
    hits = []
    for p in positions:
        s = symbols[p.symbol]
        price, sign = (s.bid, 1) if p.type == 0 else (s.ask, -1)
        if p.sl and (price - p.sl) * sign <= 1e-9:
            hits.append((p.ticket, price, CONSTANTS["DEAL_REASON_SL"]))
        elif p.tp and (p.tp - price) * sign <= 1e-9:
            hits.append((p.ticket, price, CONSTANTS["DEAL_REASON_TP"]))
    return hits
