"""What a netting position added to held, for its trades.csv row (:mod:`.outcomes`):
all its lots, their volume-weighted entry and the risk of every lot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hookspecs import Trade

#: lots closer than this are the same volume (a part and the rest add up to the whole
#: with float noise); more lots than the opening fill's by more: a netting add
SAME_LOTS = 1e-6


@dataclass(frozen=True)
class Held:
    """All a netting position held: lots, their mean entry, their risk (price × lots)."""

    volume: float
    entry: float
    risk: float


def netting_held(trade: Trade, records: Sequence[Trade]) -> Held | None:
    """A netting position added to (:mod:`hostapp.outcomes`' docstring), from ``records``: its own
    closing deals in time order, then its open position if any. ``None`` when they hold
    no more lots than the opening fill (every trade of a hedging account): its row and
    R are the opening fill's, as before."""
    same = [r for r in records if r.direction == trade.direction]
    volume = sum(r.volume for r in same)
    added = volume - trade.volume
    if added <= SAME_LOTS:
        return None
    basis = sum(r.entry_price * r.volume for r in same)
    prices = {r.entry_price for r in same}
    # one price: that one; a mean to the broker's own rounding of an averaged entry
    entry = prices.pop() if len(prices) == 1 else round(basis / volume, 10)
    volume = round(volume, 8)  # lots as the broker rounds them: 0.45, not 0.44999999999999996
    first = trade.stop_loss
    if first is None:  # a first lot without a stop has no R, adds or not
        return Held(volume, entry, 0.0)
    # the adds' lots at their mean price, against the opening's initial stop: the stop an
    # add came with is in no record (a closing deal or the position shows the stop of
    # its own time, which a trailing stop moved later, and MetaTrader's deals none), and
    # a denominator that moved with the trail made the same fills read other R in the
    # A/B's two runs
    added_price = (basis - trade.entry_price * trade.volume) / added
    risk = abs(trade.entry_price - first) * trade.volume + abs(added_price - first) * added
    return Held(volume, entry, risk)
