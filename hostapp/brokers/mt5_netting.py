"""An open on a netting account, where a symbol holds one position and an order changes it.

The trade server takes a grown position's stop and target from the order that grew it, a
zero deleting the level (the MT5 Help, "Rules of Stop Loss and Take Profit inheritance";
docs/mt5.md, "Netting accounts"). An order that adds lots without naming a level would
wipe the position's, where the paper broker keeps it: so the position's level is sent in
its place. The result says what the order did to the position, as the paper broker's does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from hookspecs import Direction, NettingEffect

from .mt5_convert import identity

#: what an order did to the netting position, and its words for the result's message
Netted = tuple[NettingEffect | None, str]


def _level(value: Any) -> float | None:
    level = float(value)
    return level if level > 0 else None


def inherited(
    net: Mapping[str, Any] | None,
    direction: Direction,
    sl: float | None,
    tp: float | None,
) -> tuple[float | None, float | None]:
    """The levels to send: the order's, and for an order that adds to ``net`` (the
    symbol's position, same side) the position's where the order names none. An order
    that reduces leaves the position's levels alone; one that reverses gives the new
    side only its own (the old side's would be on the wrong side of price)."""
    if net is None or _side(net) != direction:
        return sl, tp
    return (
        sl if sl is not None else _level(net["sl"]),
        tp if tp is not None else _level(net["tp"]),
    )


def effect(net: Mapping[str, Any] | None, direction: Direction, filled: float) -> Netted:
    """What ``filled`` lots did to ``net``: the change, and its words as the paper
    broker's (``(None, "")`` when there was no position to change)."""
    if net is None:
        return None, ""
    ticket, held = identity(net), float(net["volume"])
    if _side(net) == direction:
        return "added", f"; added {filled:g} to {ticket}"
    if filled < held - 1e-9:
        return "reduced", f"; reduced {ticket} by {filled:g}"
    if filled <= held + 1e-9:
        return "closed", f"; closed {ticket} (netting)"
    return "reversed", f"; reversed {ticket} into {round(filled - held, 8):g} {direction}"


def _side(position: Mapping[str, Any]) -> Direction:
    return "buy" if int(position["type"]) == 0 else "sell"


def shared_positions(
    positions: Iterable[Mapping[str, Any]], symbols: Collection[str], magic: int
) -> str | None:
    """At start-up on a netting account: the positions already open on a symbol the host
    trades that its magic number did not open (a trade by hand, another program's). The
    symbol holds one position, so every order the host sends there changes that one
    (adds to it, reduces, closes or reverses it): said once, in words, or ``None``."""
    shared = [
        p for p in positions if str(p["symbol"]) in symbols and int(p.get("magic", 0)) != magic
    ]
    if not shared:
        return None
    each = ", ".join(
        f"{p['symbol']} {identity(p)} {_side(p)} {float(p['volume']):g} "
        f"(magic {int(p.get('magic', 0))})"
        for p in shared
    )
    return (
        f"this netting account already holds a position not opened with magic {magic} on "
        f"a symbol hostapp trades: {each}; each symbol holds one position, so every order "
        "hostapp sends there adds to, reduces, closes or reverses it"
    )
