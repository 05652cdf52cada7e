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
            f"{name} {shown(value)}"
            for name, value in zip(
                ("open", "high", "low", "close"), (bar.open, bar.high, bar.low, bar.close),
                strict=True,
            )
        )  # fmt: skip
        raise CsvError(
            path,
            lines[i],
            f"a spike: {prices}, all {where} the closes on both sides "
            f"({shown(before.close)} on line {lines[i - 1]}, {shown(after.close)} on line "
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


def shown(price: float) -> str:
    """A price as the file likely wrote it: up to ten digits, no trailing zeros."""
    return f"{price:.10g}"
