"""The volumes DTMS sends (docs/dtms.md §6): a partial close, a hedge and a re-add, each
a fraction of a position floored to the symbol's volume step, and when each is skipped
for the broker's minimum, with words that say the volume asked and what the step made of
it.

Apart from :mod:`.planning`, which decides what to send and when: these are the broker's
volume rules alone (step, minimum, maximum), the same for every intent that sends a
volume.
"""

from __future__ import annotations

import math

from hookspecs import SymbolInfo

from .tolerance import TOLERANCE as _EPS


def _step_decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def floor_volume(volume: float, info: SymbolInfo) -> float:
    """``volume`` capped at the maximum and floored to the volume step."""
    if info.volume_max > 0.0:
        volume = min(volume, info.volume_max)
    step = info.volume_step
    steps = math.floor(volume / step + _EPS)
    return round(steps * step, _step_decimals(step))


def partial_volume(volume: float, fraction: float, info: SymbolInfo) -> tuple[float | None, str]:
    """Volume to close: ``volume × fraction`` floored to the step; ``None`` (with why) when
    it is below the minimum or would leave less than the minimum open."""
    asked = volume * fraction
    vol = floor_volume(asked, info)
    if vol < info.volume_min - _EPS:
        return None, _below_minimum("partial volume", asked, vol, info)
    remaining = volume - vol
    if remaining < info.volume_min - _EPS:
        return None, (
            f"partial close of {vol:g} would leave {remaining:g} open, "
            f"below the minimum {info.volume_min:g}"
        )
    return vol, ""


def hedge_volume(volume: float, fraction: float, info: SymbolInfo) -> tuple[float | None, str]:
    """The hedge of ``volume``: ``volume × fraction`` floored to the step, but at least the
    symbol's minimum and never more than the open volume (docs/dtms.md §6). A hedge that
    fell below the minimum would leave a minimum-lot trade HEDGED with nothing hedging it
    until the flat deadline closed it; at the minimum it is hedged whole, which offsets
    exposure and never adds any. ``None`` (with why) only for an open volume itself below
    the minimum."""
    vol = min(
        max(floor_volume(volume * fraction, info), info.volume_min), floor_volume(volume, info)
    )
    if vol < info.volume_min - _EPS:
        return None, f"open volume {volume:g} below the minimum {info.volume_min:g}: no hedge"
    return vol, ""


def re_add_volume(closed: float, fraction: float, info: SymbolInfo) -> tuple[float | None, str]:
    """The re-add: ``closed × fraction`` floored to the step; ``None`` (with why) below the
    minimum. Never raised to the minimum as a hedge is: a re-add is new exposure."""
    asked = closed * fraction
    vol = floor_volume(asked, info)
    if vol < info.volume_min - _EPS:
        return None, _below_minimum("re-add volume", asked, vol, info)
    return vol, ""


def _below_minimum(what: str, asked: float, vol: float, info: SymbolInfo) -> str:
    """Why a volume is skipped: the volume asked, and what the step floored it to when it
    did (a 0.05 partial at a 0.1 step read "partial volume 0", as if nothing was asked)."""
    floored = (
        ""
        if abs(asked - vol) < _EPS
        else f" (it floors to {vol:g} at the step {info.volume_step:g})"
    )
    return f"{what} {asked:g}{floored} below the minimum {info.volume_min:g}"
