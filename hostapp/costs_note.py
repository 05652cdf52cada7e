"""The run's note on what a paper run charged for trading (:func:`costs_note`): the
spread only, as it fills, and where it was assumed, which one and why. Apart from
:mod:`hostapp.symbol_rules`, whose notes are of the rules the broker trades on."""

from __future__ import annotations

from collections.abc import Iterable

from hookspecs import Broker

#: the caps of an assumed spread (:func:`~.brokers.paper_rules.spread_cap`) as the note
#: words them, in basis points
_BASIS_POINTS = {2: "two", 10: "ten"}


def costs_note(broker: Broker, symbols: Iterable[str]) -> str | None:
    """What a paper run charged for trading: the spread only, as it fills (buys at the
    ask, sells and a sell's stops at the bid plus the spread), and no commission, swap or
    slippage; and for each symbol whose bars carry no spread, the one assumed, and where
    one point, the least spread, was charged above the assumed one's cap (two basis points,
    ten for a symbol of the paper broker's table; a table's coarse ``digits``), by how
    much, and the most of the price a spread that moved with the price was. The same in
    every run of an A/B, but a figure a trader compares with a live account's (a stock
    held for weeks pays financing there). ``None`` for a real broker."""
    from .brokers.paper import PaperBroker
    from .brokers.paper_rules import spread_cap

    if not isinstance(broker, PaperBroker):
        return None
    assumed = broker.assumed_spreads
    parts = []
    for symbol in symbols:
        if symbol in assumed:
            info = broker.symbol_info(symbol)
            low, high = (
                f"{v:.{info.digits}f}" if info is not None else f"{v:g}" for v in assumed[symbol]
            )
            most = broker.assumed_shares.get(symbol, 0.0) * 1e4  # as charged, not as told
            shown = (
                low
                if low == high
                else f"from {low} to {high} (a share of the price, at most {most:.1f} "
                "basis points of it)"
            )
            n = broker.bars_without_spread[symbol]
            whose = "from plugins.toml" if symbol in broker.table_spreads else "assumed"
            parts.append(f"{symbol}'s {whose}, {shown}, on the {n:,} bars without one")
            share = broker.one_point_spreads.get(symbol)
            if share is not None and info is not None:
                cap = spread_cap(symbol) * 1e4
                kept = _BASIS_POINTS.get(round(cap), f"{cap:g}")
                parts.append(
                    f"{symbol}'s assumed spread is one point of its {info.digits} digits, "
                    f"up to {share * 1e4:.1f} basis points of the price, above the {kept} an "
                    "assumed spread is kept to: its digits quote no finer (a "
                    f"[host.paper.symbols.{symbol}] table's spread, or more digits, sets it)"
                )
    where = "; spreads: " + "; ".join(parts) if parts else " (the bars' own spreads)"
    return (
        "costs: the paper broker charges the spread only, no commission, swap or slippage" + where
    )
