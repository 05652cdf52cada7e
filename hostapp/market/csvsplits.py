"""Splits and other jumps in a file's unadjusted prices, said in the run's notes: unlike a
spike (:mod:`.csvspikes`) such a jump stays, and the replay trades it as a move, so a
stop set before it is far off after, and a stop filled across it is a loss no holder of
the stock had.

A split is told two ways:

* by the file's adjusted close (yfinance's ``Adj Close``, Tiingo's ``adjClose``): on a
  split or a dividend the raw close moves and the adjusted one does not, so their ratio
  changes, by the split's ratio. A change of more than :data:`ADJUSTED_STEP` (10 %) in
  one bar is said, whatever the move's size: a 3:2 bonus issue opens a third lower
  (987654.csv, 2002-08-22: 18.4 → 12.28 while ``adjClose`` rose 3.58 → 3.73), a 2:1
  split may fall just short of half (AAPL, 2005-02-28: 88.99 → 44.68, −49.8 %). An
  ordinary dividend moves the ratio by its yield, a few percent, and is not said.
* without one, by a bar that opens at a common split ratio of the close before (2:1,
  3:2, 3:1, 4:1, 5:1, 10:1 or their reverse but 2:3, within :data:`RATIO_TOLERANCE`,
  2 %). A split
  happens between two bars, so the whole move is the gap at the open; a crash moves
  through the bars (the S&P 500 of 1987-10-19 opened at the close before, 282.7, and
  closed 20.5 % lower), and one that gaps lands on one of these ratios to 2 % only by
  chance, which is why the note asks (a split?) and does not say.

A bar that opens :data:`JUMP` (half) or more away from the close before it that neither
rule names is said too: a split of an uncommon ratio, a real move, or a gap in the data.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from hookspecs import Bar

from .csvrows import decimals
from .csvspikes import shown

#: how far from the close before a bar must open to be said: half of it, up or down (a
#: 2:1 split halves the price, a 1:2 reverse split doubles it)
JUMP = 0.5
#: how much the raw close's ratio to the adjusted close changes in one bar at a split
ADJUSTED_STEP = 0.10
#: how near a bar's open must come to a split ratio of the close before, without an
#: adjusted close
RATIO_TOLERANCE = 0.02
#: how near the change of an adjusted ratio must come to a split ratio to be named so
#: (a dividend paid the same day, and the adjusted close's rounding, move it a little)
_NAMED_TOLERANCE = 0.05
#: the common splits, new shares for old ones, and what they multiply the price by
SPLIT_RATIOS = {
    "2:1": 1 / 2, "3:2": 2 / 3, "3:1": 1 / 3, "4:1": 1 / 4, "5:1": 1 / 5, "10:1": 1 / 10,
    "1:2": 2.0, "2:3": 3 / 2, "1:3": 3.0, "1:4": 4.0, "1:5": 5.0, "1:10": 10.0,
}  # fmt: skip
#: the splits told by the ratio alone: not a 2:3 reverse split, which is rare where a
#: gap up of half the price is not (a small company's news)
_BY_RATIO = {name: r for name, r in SPLIT_RATIOS.items() if name != "2:3"}
#: the names of an adjusted close column (yfinance's ``Adj Close``, Tiingo's ``adjClose``)
ADJUSTED = frozenset({"adjclose", "adjustedclose"})
#: an adjusted close written with fewer significant digits than this is too coarse to
#: tell a split by (0.05 written with two decimals is 10 % off either way)
_SIGNIFICANT = 100

#: the splits of each symbol's bars: the time of a split's bar, and its ratio in words
SplitTimes = dict[str, list[tuple[datetime, str]]]

#: a split found: the bar's index, what it multiplied the price by, told by the adjusted
#: close or by the ratio alone
Split = tuple[int, float, bool]


def adjusted_column(header: Sequence[str]) -> int | None:
    """Where a header's adjusted close is, if it has one."""
    letters = ["".join(c for c in h.lower() if c.isalnum()) for h in header]
    return next((i for i, n in enumerate(letters) if n in ADJUSTED), None)


def adjusted_values(texts: Sequence[str | None]) -> list[float | None]:
    """The adjusted closes of a file's bars, ``None`` where one is missing, not positive
    (987654.csv's last row writes -1.0) or too coarse to tell a split by."""
    out: list[float | None] = []
    for text in texts:
        try:
            value = float(text) if text else 0.0
        except ValueError:
            value = 0.0
        coarse = value < _SIGNIFICANT * 10.0 ** -decimals(text or "0")
        out.append(value if value > 0 and not coarse else None)
    return out


def find_splits(bars: Sequence[Bar], adjusted: Sequence[float | None] | None) -> list[Split]:
    """The bars at which the prices split: by ``adjusted`` (the bars' adjusted closes)
    when the file has them, else by the common ratios."""
    found: list[Split] = []
    for i, (before, bar) in enumerate(itertools.pairwise(bars), 1):
        if adjusted is not None:
            a, b = adjusted[i - 1], adjusted[i]
            if a is None or b is None:
                continue
            factor = (bar.close / b) / (before.close / a)
            if max(factor, 1 / factor) > 1 + ADJUSTED_STEP:
                found.append((i, factor, True))
        elif ratio_name(bar.open / before.close, RATIO_TOLERANCE, _BY_RATIO) is not None:
            found.append((i, bar.open / before.close, False))
    return found


def ratio_name(
    factor: float,
    tolerance: float = _NAMED_TOLERANCE,
    ratios: Mapping[str, float] = SPLIT_RATIOS,
) -> str | None:
    """The common split (of ``ratios``) that multiplies a price by ``factor``, to
    ``tolerance`` (``"2:1"`` for 0.5)."""
    return next((name for name, r in ratios.items() if abs(factor / r - 1) <= tolerance), None)


def split_times(bars: Sequence[Bar], splits: Sequence[Split]) -> list[tuple[datetime, str]]:
    """``(time, what)`` of each split's bar, for a stop filled across it to be named so."""
    return [(bars[i].time, _what(factor)) for i, factor, _ in splits]


def jumps_notes(
    path: str | Path,
    bars: Sequence[Bar],
    lines: Sequence[int],
    header: Sequence[str],
    splits: Sequence[Split],
) -> list[str]:
    """The run's notes on the splits in ``bars`` (their lines in ``lines``), and on the
    other bars that open :data:`JUMP` or more away from the close before them: how many,
    the first with their lines. ``header`` tells whether the file has an adjusted close
    to name."""
    at = adjusted_column(header)
    adjusted = header[at] if at is not None else None
    notes: list[str] = []
    if splits:
        shown_splits = _listed(
            f"line {lines[i]}, {bars[i].time:%Y-%m-%d}: {_what(factor)}, "
            f"{shown(bars[i - 1].close)} → {shown(bars[i].open)}"
            for i, factor, _ in splits
        )
        n = len(splits)
        if splits[0][2]:
            told = (
                f"{n:,} split{'s' if n > 1 else ''} or dividend{'s' if n > 1 else ''} in its "
                f"unadjusted prices, where the close moves and its adjusted close "
                f"{adjusted!r} does not ({shown_splits})"
            )
        else:
            told = (
                f"{n:,} bar{'s' if n > 1 else ''} open{'' if n > 1 else 's'} at a common "
                f"split's ratio of the close before ({shown_splits}): a split in "
                "unadjusted prices?"
            )
        notes.append(
            f"{path}: {told}; traded as a real move, a stop or target set before it is far "
            "off after, and a stop filled across it is no loss a holder had; replay prices "
            "adjusted for splits (yfinance's auto_adjust=True writes adjusted open, high, low "
            "and close)"
        )
    split_at = {i for i, _, _ in splits}
    found = [
        (i, bar.open / before.close - 1)
        for i, (before, bar) in enumerate(itertools.pairwise(bars), 1)
        if abs(bar.open / before.close - 1) >= JUMP and i not in split_at
    ]
    if found:
        notes.append(_jumps_note(path, bars, lines, found, adjusted))
    return notes


def _jumps_note(
    path: str | Path,
    bars: Sequence[Bar],
    lines: Sequence[int],
    found: Sequence[tuple[int, float]],
    adjusted: str | None,
) -> str:
    """The note on bars that open half the price or more away from the close before and
    that no rule of a split names."""
    listed = _listed(
        f"line {lines[i]}, {bars[i].time:%Y-%m-%d}: {shown(bars[i - 1].close)} → "
        f"{shown(bars[i].open)} ({change:+.0%})"
        for i, change in found
    )
    n = len(found)
    what = (
        "a stock split, or a gap in the data?"
        if adjusted is None
        else f"no split (its adjusted close {adjusted!r} moves with it): a real move, or a "
        "gap in the data?"
    )
    return (
        f"{path}: {n:,} bar{'s' if n > 1 else ''} open{'' if n > 1 else 's'} "
        f"{JUMP:.0%} or more away from the close before ({listed}): {what} unadjusted "
        "prices are traded as a real move, and a stop or target set before it is far off "
        f"after{'; replay prices adjusted for splits' if adjusted is None else ''}"
    )


def _what(factor: float) -> str:
    """A split's ratio in words: ``3:2 (×0.64)``, or ``×0.76`` when no common one."""
    name = ratio_name(factor)
    return f"{name} (×{factor:.2f})" if name is not None else f"×{factor:.2f}"


def _listed(items: Iterable[str]) -> str:
    """The first three of ``items``, ``; …`` when there are more."""
    listed = list(items)
    return "; ".join(listed[:3]) + ("; …" if len(listed) > 3 else "")
