"""Reading a bar file's rows in time order, whatever order they were written in.

:func:`~.csvdata.load_csv` hands over its mended rows (:mod:`.csvmend`) and the layout's
loader; :func:`bars_in_order` returns the bars oldest first:

* rows in time order are read as they stand (the common file: one pass);
* a file written newest first, strictly, is read reversed;
* two overlapping exports pasted together repeat a block of rows further down: a row
  whose time and values are both an earlier row's exactly is dropped (counted in the
  notes, with its lines and the lines it repeats), and the rows are read again;
* a row that goes back to a time already read, with other values, is refused naming
  both lines, as which of them is right is not for the replay to guess (back by less
  than an hour, it may be the hour a clock repeats as summer time ends, which the
  refusal names ``--data-tz`` for); one that goes back to a time never read is refused
  as unsorted, at the first line whose time goes against the way most of the file's
  rows go (a file newest first, with a few rows out of place deep inside, is refused at
  those rows, not at its second line), naming the others that do (:func:`_out_of_order`).

A file in time order pays nothing for the rest: the rows are compared only once a time
has gone backwards.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise

from hookspecs import Bar

from .csvbars import bar_lines, more_lines
from .csvmend import Mended, Rows, without_repeats
from .csvrows import CsvError, UnsortedError, surveying

#: the layout's loader of rows (the header's first, as in the file): their bars, or an
#: :class:`~.csvrows.UnsortedError` at the first time before the one read before it
Load = Callable[[Rows], list[Bar]]


class _Unordered(Exception):
    """Rows that are in time order neither as written nor reversed: ``shown``, the
    refusal; ``rows`` and ``failed``, the pass that says most of where they go wrong."""

    def __init__(self, shown: UnsortedError, rows: Rows, failed: UnsortedError) -> None:
        super().__init__(str(shown))
        self.shown, self.rows, self.failed = shown, rows, failed


def bars_in_order(
    path: str, rows: Rows, head: int, load: Load, restart: Callable[[], None], mended: Mended
) -> list[Bar]:
    """The bars of ``rows`` oldest first (the module's docstring); ``head``: how many of
    the rows are the header's; ``restart`` forgets what a failed pass counted, before
    the next pass; ``mended`` gets the rows dropped and the reversal."""
    try:
        return _as_written_or_reversed(rows, head, load, restart, mended)
    except _Unordered as unordered:
        failed = unordered
    unique = rows[:head] + without_repeats(rows[head:], mended)
    if len(unique) < len(rows):
        restart()
        try:
            return _as_written_or_reversed(unique, head, load, restart, mended)
        except _Unordered as again:
            failed = again
    restart()
    raise (
        _a_time_twice(path, head, load, failed) or _out_of_order(path, unique, load) or failed.shown
    )


def _as_written_or_reversed(
    rows: Rows, head: int, load: Load, restart: Callable[[], None], mended: Mended
) -> list[Bar]:
    """The bars of ``rows`` as written, or reversed when the times go backwards from the
    first row on (a file newest first); else :class:`_Unordered`."""
    try:
        return load(rows)
    except UnsortedError as unsorted:
        if len(rows) <= head or unsorted.previous_line != rows[head][0]:
            raise _Unordered(unsorted, rows, unsorted) from None  # sorted at first, then not
        restart()
        flipped = rows[:head] + rows[head:][::-1]
        try:
            bars = load(flipped)
        except UnsortedError as backwards:
            raise _Unordered(unsorted, flipped, backwards) from None
        mended.reversed_lines = (rows[head][0], rows[-1][0])
        return bars


def _a_time_twice(path: str, head: int, load: Load, unordered: _Unordered) -> CsvError | None:
    """The refusal of two rows of one time and other values (an exact repeat was dropped
    before), when that is why the times go back: the row going back to a time read
    before (a block pasted after), or the row before it, ahead of its time, to one read
    after (a block pasted before: a file newest first, read reversed). It names the
    later line of the file, and the other. ``None`` when neither (or the rows around
    cannot tell): the rows are unsorted."""
    failed, rows = unordered.failed, unordered.rows
    at = next((i for i, (line, _) in enumerate(rows) if line == failed.line), None)
    if failed.times is None or at is None:
        return None
    time, ahead = failed.times
    found = _line_of(rows[:at], time, load)  # the rows before, up to the one going back
    if found is not None:
        line, other = failed.line, found
    else:
        found = _line_of(rows[:head] + rows[at:], ahead, load)  # the rows after
        if found is None:
            return None
        line, other, time = failed.previous_line, found, ahead
    line, other = max(line, other), min(line, other)
    why = "two overlapping exports that disagree?"
    if ahead - failed.times[0] < _AN_HOUR:  # back by less than an hour: 03:55, then 03:00
        why += " or a clock that repeats this hour, as summer time ends: --data-tz names it"
    return CsvError(
        path,
        line,
        f"duplicate time {time.isoformat()}, also on line {other} with other values: the "
        f"rows go back in time here ({why}); one of the two rows must go",
    )


#: how far back a clock goes when summer time ends
_AN_HOUR = timedelta(hours=1)


def _line_of(rows: Rows, time: datetime, load: Load) -> int | None:
    """The line of ``rows`` whose bar opens at ``time``; ``None`` when none does or the
    rows are not read."""
    with bar_lines() as lines:
        try:
            bars = load(rows)
        except CsvError:
            return None
    i = bisect_left([b.time for b in bars], time)
    return lines[i] if i < len(bars) and bars[i].time == time else None


def _out_of_order(path: str, rows: Rows, load: Load) -> CsvError | None:
    """The refusal of rows out of time order, at the first line whose time goes the
    wrong way and naming the others: the file read once more, surveyed
    (:func:`~.csvrows.surveying`). The way is the one most of the file's rows go: a file
    written newest first, 17,000 rows of it in order but 10 out of place, is refused at
    those 10, not at its second line, where the times first go back. ``None`` when the
    rows cannot be read so (another fault stops them)."""
    with surveying(), bar_lines() as lines:
        try:
            bars = load(rows)
        except CsvError:
            return None
    times = [b.time for b in bars]
    steps = [(b > a) - (b < a) for a, b in pairwise(times)]  # +1 on, -1 back, 0 the same
    newest_first = steps.count(-1) > steps.count(1)
    wrong = [i + 1 for i, step in enumerate(steps) if step != (-1 if newest_first else 1)]
    if not wrong:
        return None
    first, *others = wrong
    time, earlier = times[first].isoformat(), times[first - 1].isoformat()
    if steps[first - 1] == 0:
        said = f"time {time} is the previous line's too, with other values (one row must go)"
    elif newest_first:
        said = (
            f"time {time} is after the previous line's {earlier} in a file written newest "
            "first (rows must be sorted one way, newest or oldest first)"
        )
    else:
        said = (
            f"time {time} is before the previous line's {earlier} (rows must be sorted "
            "oldest first)"
        )
    return CsvError(path, lines[first], said + more_lines([lines[i] for i in others]))
