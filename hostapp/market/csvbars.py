"""A file's line made a bar, its values checked first, whatever layout the line is in.

Every loader (:mod:`.csvdata`, :mod:`.csvexports`, :mod:`.csvmetastock`,
:mod:`.csvdukascopy`) makes its bars with :func:`checked_bar`, so a price at or below
zero, a high below the low or a negative volume read the same whatever wrote the file: a
:class:`BarError` naming the file and the line. A high or low that misses the open or
close by float noise alone (:data:`PRICE_NOISE`) is no fault: prices computed two ways
(split-adjusted ones, yfinance's) end a float step or two apart, and such a bar is read
with its high and low stretched to hold them. A refusal says how many other lines have
the same fault, and where (:func:`with_lines_like_it`), so that one run names them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from hookspecs import Bar, DataError

from .csvrows import OHLC, CsvError, Ohlc, survey, surveying

#: the highest price read: far above any market's quote (bitcoin in Iranian rials is about
#: 10^10), far below what overflows the statistics of a run (their squares pass 10^308
#: from 10^154)
MAX_PRICE = 1e18
#: why a price at or below zero is refused, and what to do (WTI's futures closed at
#: -37.63 on 2020-04-20): positions are sized, and R and drawdowns measured, on prices
#: above zero
NOT_POSITIVE = (
    "hostapp replays positive prices only; a series that went to or below zero needs a "
    "constant added to every price, or those rows cut out"
)
#: how far a high may fall below the open or close (a low rise above them) and the bar
#: still be read: float noise, counted in float steps (``math.ulp`` of the larger). Prices
#: computed two ways end a step or two apart (yfinance's split-adjusted low
#: 0.12297222763299943 and close 0.12297222763299942: one step). In steps, not as a share
#: of the price: a share small enough for noise at 0.12 is a whole tick of a price quoted
#: in units at 10^9 and more (MAX_PRICE allows them), and a high a tick below the close
#: must never be let through
PRICE_NOISE = 16
#: line numbers a refusal names of the others like it, before "…" and the last
SHOWN_LINES = 3


class BarError(CsvError):
    """A line whose values no bar can have. ``kind``: the fault, the same for each line
    that has it (``range``: a high and a low that do not hold the open and close)."""

    def __init__(self, path: str | Path, line: int, message: str, kind: str) -> None:
        super().__init__(path, line, message)
        self.kind = kind


def checked_bar(
    path: str | Path,
    line: int,
    time: datetime,
    prices: Ohlc,
    volume: float,
    spread: float,
) -> Bar:
    """A :class:`~hookspecs.Bar` of a file's line, its values checked first; its line is
    told to :func:`bar_lines` when that listens. Inside :func:`~.csvrows.surveying` a
    faulty line is listed there and a stand-in bar of its time returned."""
    try:
        bar = _bar(path, line, time, prices, volume, spread)
    except BarError as refused:
        found = survey()
        if found is None:
            raise
        found.append((line, refused.kind, refused.reason))
        bar = Bar(time, 1.0, 1.0, 1.0, 1.0)
    listening = _LINES.get()
    if listening is not None:
        listening.append(line)
    return bar


def _bar(
    path: str | Path, line: int, time: datetime, prices: Ohlc, volume: float, spread: float
) -> Bar:
    """:func:`checked_bar`'s bar, or the :class:`BarError` of its line."""
    o, h, low, c = prices
    for name, value in zip(OHLC, prices, strict=True):
        if value <= 0:
            why = f"{name} {value:g} is not a positive price: {NOT_POSITIVE}"
            raise BarError(path, line, why, "not positive")
        if value > MAX_PRICE:
            raise BarError(
                path, line, f"{name} {value:g} is not a price: above {MAX_PRICE:g}, which no "
                "market quotes (a slip of the exponent?)", "too high",
            )  # fmt: skip
    if h < low or h < max(o, c) or low > min(o, c):
        fault = range_fault(prices)
        if fault is not None:
            raise BarError(path, line, fault, "range")
        h, low = max(h, o, c), min(low, o, c)  # off by float noise alone: held
    if volume < 0:
        raise BarError(path, line, f"volume {volume:g} is negative", "volume")
    if spread < 0:
        raise BarError(path, line, f"spread {spread:g} is negative", "spread")
    try:
        return Bar(time, o, h, low, c, volume, spread)
    except DataError as exc:  # pragma: no cover - the checks above come first
        raise BarError(path, line, str(exc), "bar") from None


def range_fault(prices: Ohlc) -> str | None:
    """What is wrong with a bar's high and low, which must hold its open and close, or
    ``None`` when they miss them by no more than :data:`PRICE_NOISE`. The values are
    written with as many digits as show the two compared apart (``0.1229723`` above
    ``0.1229722``, not ``0.122972`` above ``0.122972``)."""
    o, h, low, c = prices
    top, bottom = max(o, c), min(o, c)
    if h < low and not _noise(h, low):
        d = _digits_apart(h, low)
        return f"high {h:.{d}g} is below low {low:.{d}g}"
    if h < top and not _noise(h, top):
        d = _digits_apart(h, top)
        return f"high {h:.{d}g} is below open {o:.{d}g} or close {c:.{d}g}"
    if low > bottom and not _noise(low, bottom):
        d = _digits_apart(low, bottom)
        return f"low {low:.{d}g} is above open {o:.{d}g} or close {c:.{d}g}"
    return None


def _noise(a: float, b: float) -> bool:
    """Whether ``a`` and ``b`` differ by float noise alone (:data:`PRICE_NOISE` steps)."""
    return abs(a - b) <= PRICE_NOISE * math.ulp(max(abs(a), abs(b)))


def _digits_apart(a: float, b: float) -> int:
    """The significant digits, six at least, that write ``a`` and ``b`` apart."""
    return next((d for d in range(6, 17) if f"{a:.{d}g}" != f"{b:.{d}g}"), 17)


def with_lines_like_it(refused: BarError, read_again: Callable[[], object]) -> BarError:
    """The refusal of the file's first line with ``refused``'s kind of fault, saying how
    many others have it and which: ``read_again`` reads the file once more, surveyed
    (:func:`~.csvrows.surveying`). (A file newest first is read from its end, so its
    first such line in time is its last in the file.) When a line of another fault stops
    that reading (a word where a number goes), the count is of the lines before it, and
    says "at least"."""
    with surveying() as found:
        try:
            read_again()
            whole = True
        except CsvError:
            whole = False
    same = {(n, why) for n, kind, why in found if kind == refused.kind}
    (line, why), *others = sorted(same | {(refused.line, refused.reason)})
    said = why + more_lines([n for n, _ in others], whole=whole)
    return BarError(refused.path, line, said, refused.kind)


def more_lines(lines: list[int], *, whole: bool = True) -> str:
    """``; and 124 more lines like it: 444, 453, 458, …, 1540`` (the first few and the
    last of ``lines``, in order), or nothing when there are none. ``whole``: the file was
    read to its end, else there may be more: "at least"."""
    if not lines:
        return ""
    if len(lines) > SHOWN_LINES + 1:
        shown = [*map(str, lines[:SHOWN_LINES]), "…", str(lines[-1])]
    else:
        shown = list(map(str, lines))
    count = f"{len(lines)} more line{'s' if len(lines) != 1 else ''}"
    return f"; and {'' if whole else 'at least '}{count} like it: {', '.join(shown)}"


#: the lines of the bars :func:`checked_bar` makes inside :func:`bar_lines`
_LINES: ContextVar[list[int] | None] = ContextVar("bar_lines", default=None)


@contextmanager
def bar_lines() -> Iterator[list[int]]:
    """The line of each bar :func:`checked_bar` makes inside the block, in the order made.
    The loaders return bars, which carry no line; a check across bars (a spike,
    :mod:`.csvspikes`; times out of order, :mod:`.csvorder`) still names the lines it is
    about."""
    lines: list[int] = []
    token = _LINES.set(lines)
    try:
        yield lines
    finally:
        _LINES.reset(token)
