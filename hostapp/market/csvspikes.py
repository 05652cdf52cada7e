"""A spike: one bar far away from the bars on both sides of it, and back the next bar.

The rule: a bar is refused when its whole range lies more than :data:`SPIKE_FACTOR` (10)
times above the closes on both sides of it (its low above ten times the higher of them),
or below a tenth of both (its high below a tenth of the lower). Real data never does
that. A market that trades on opens a bar at about the close before it, so no bar of it
lies wholly ten times away; one that gaps (a stock overnight) would have to gap ten
times up and ten times back down in the next bar. Moves however large stay in: a crash
(LUNA's −99.99 % in May 2022) or a penny stock's rise over years goes from bar to bar
and stays; a flash crash (ether at $0.10 on GDAX for a moment in 2017) is a wick, a low,
not a whole bar; a reverse split in unadjusted prices is one jump that stays. What trips
it is a slip: a digit too many, a price in cents among dollars, ``1e300``; one such bar
is enough to turn a run's P&L into nonsense and size the next position on it.

Refused, not left out: which of the bar's values is wrong, and whether it is the only
such bar, is not for the replay to guess (as a time repeated with other values is not,
:mod:`.csvmend`), and a replay without it would trade a series with a hole where the
user's file has a bar. The first and the last bar have one neighbour, so a jump there
cannot be told from a real one; they are not checked. A run of several such bars is not
a spike either (each has a spiked neighbour): it is left to the user's eye.

Thin data can do it for real (a micro-cap token near 1e-5 whose bars are single trades at
ten or twenty times the last one, yields near zero used as prices): ``[host] spikes =
"keep"`` (``hostapp replay --keep-spikes``) keeps such bars, and the run's notes count
them (:func:`spikes_note`). The refusal names that way out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

from hookspecs import Bar

from .csvrows import CsvError

#: how many times above (or below) the closes on both sides a whole bar must lie
SPIKE_FACTOR = 10.0


#: how a refusal names the way to keep real spikes
KEEP_SPIKES = '[host] spikes = "keep" (or hostapp replay --keep-spikes)'


def _spikes(bars: Sequence[Bar]) -> Iterator[tuple[int, str]]:
    """``(index, where)`` of each spike in ``bars``: where it lies from its neighbours."""
    for i, (before, bar, after) in enumerate(zip(bars, bars[1:], bars[2:], strict=False)):
        lower, higher = sorted((before.close, after.close))
        if bar.low > SPIKE_FACTOR * higher:
            yield i + 1, f"more than {SPIKE_FACTOR:g} times above"
        elif bar.high * SPIKE_FACTOR < lower:
            yield i + 1, f"less than 1/{SPIKE_FACTOR:g} of"


def check_spikes(path: str | Path, bars: Sequence[Bar], lines: Sequence[int]) -> None:
    """A :class:`CsvError` naming the line of the first spike in ``bars`` (their lines in
    ``lines``), its prices, the closes on both sides with their lines, and the way to keep
    it when the data is real."""
    for i, where in _spikes(bars):
        before, bar, after = bars[i - 1], bars[i], bars[i + 1]
        prices = ", ".join(
            f"{name} {_shown(value)}"
            for name, value in zip(
                ("open", "high", "low", "close"), (bar.open, bar.high, bar.low, bar.close),
                strict=True,
            )
        )  # fmt: skip
        raise CsvError(
            path,
            lines[i],
            f"a spike: {prices}, all {where} the closes on both sides "
            f"({_shown(before.close)} on line {lines[i - 1]}, {_shown(after.close)} on line "
            f"{lines[i + 1]}); no market goes there and back in one bar: correct the line "
            f"or delete it, or, if the market is that thin, keep such bars with {KEEP_SPIKES}",
        )


def spikes_note(path: str | Path, bars: Sequence[Bar], lines: Sequence[int]) -> str | None:
    """The run's note on the spikes kept in ``bars`` (``[host] spikes = "keep"``): how
    many and the first lines; ``None`` when there is none."""
    found = [lines[i] for i, _ in _spikes(bars)]
    if not found:
        return None
    n = len(found)
    first = ", ".join(map(str, found[:3])) + (", …" if n > 3 else "")
    return (
        f"{path}: {n:,} spike{'s' if n > 1 else ''} kept (line{'s' if n > 1 else ''} "
        f"{first}: a bar more than {SPIKE_FACTOR:g} times away from the closes on both "
        'sides), as asked ([host] spikes = "keep" or --keep-spikes)'
    )


#: how far from the close before a bar must open to be said: half of it, up or down (a
#: 2:1 split halves the price, a 1:2 reverse split doubles it)
JUMP = 0.5
#: the names of an adjusted close column (yfinance's ``Adj Close``, Tiingo's ``adjClose``)
_ADJUSTED = frozenset({"adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"})


def jumps_note(
    path: str | Path, bars: Sequence[Bar], lines: Sequence[int], header: Sequence[str]
) -> str | None:
    """The run's note on the bars that open :data:`JUMP` (50 %) or more away from the
    close before them: how many, the first with their lines. Unlike a spike such a jump
    stays, so it is real prices or a split in unadjusted ones (AAPL's 4:1 of 2020-08-31
    in a yfinance file saved with ``auto_adjust=False``), which the replay trades as a
    move: a stop set before it is far off after. Said, not refused; ``header`` tells
    whether the file has an adjusted close to say so. ``None`` when there is none."""
    found = [
        (i, bar.open / before.close - 1)
        for i, (before, bar) in enumerate(itertools.pairwise(bars), 1)
        if abs(bar.open / before.close - 1) >= JUMP
    ]
    if not found:
        return None
    shown = "; ".join(
        f"line {lines[i]}, {bars[i].time:%Y-%m-%d}: {_shown(bars[i - 1].close)} → "
        f"{_shown(bars[i].open)} ({change:+.0%})"
        for i, change in found[:3]
    ) + ("; …" if len(found) > 3 else "")
    n = len(found)
    adjusted = next((h for h in header if h.strip().lower() in _ADJUSTED), None)
    told = (
        f"; the file's {adjusted!r} column is the adjusted close, which is not read: a file "
        "of adjusted open, high, low and close (yfinance's auto_adjust=True) replays without it"
        if adjusted is not None
        else ""
    )
    return (
        f"{path}: {n:,} bar{'s' if n > 1 else ''} open{'' if n > 1 else 's'} "
        f"{JUMP:.0%} or more away from the close before ({shown}): a stock split, or a "
        "gap in the data? unadjusted prices are traded as a real move, and a stop or "
        f"target set before it is far off after; replay prices adjusted for splits{told}"
    )


def _shown(price: float) -> str:
    """A price as the file likely wrote it: up to ten digits, no trailing zeros."""
    return f"{price:.10g}"
