"""Threshold comparisons that hold up to floating-point rounding (docs/dtms.md §5, §7).

A score is a float sum of weight × sub-score, an R multiple a quotient of price
differences, a spread the difference of two prices: each carries rounding error. A value
whose exact figure sits on a threshold (S = −2 from the Asian session's weights, a loss of
exactly 0.5 R on a symbol's tick grid, a spread of exactly twice the median) can land a
hair on either side of it, and the ladder would then act on the bits of the float rather
than on the market. The thresholds of docs/dtms.md are inclusive ("S ≤ −2", "loss ≤
−0.5 R", "not above 2 × the median"), so a value within :data:`TOLERANCE` of one counts as
reaching it, whichever side the rounding put it on.
"""

from __future__ import annotations

TOLERANCE = 1e-9
"""How near a threshold counts as on it. Absolute for scores and R multiples (figures of
order 1 to 10, whose rounding error is near 1e-15); relative to the price for spreads (a
difference of two prices carries the rounding of the prices, not of the spread). Far above
any rounding error, and far below any difference the ladder or a broker's point can mean."""


def at_most(value: float, limit: float) -> bool:
    """``value ≤ limit`` up to rounding: a score or an R multiple at a "≤" threshold."""
    return value <= limit + TOLERANCE


def at_least(value: float, limit: float) -> bool:
    """``value ≥ limit`` up to rounding: a score or an R multiple at a "≥" threshold."""
    return value >= limit - TOLERANCE


def spread_at_most(spread: float, limit: float, price: float) -> bool:
    """``spread ≤ limit`` up to the rounding of prices of the size of ``price``: an ask
    minus a bid of 2000 misses 0.4 by 1e-13, which is no wider a spread."""
    return spread <= limit + TOLERANCE * abs(price)
