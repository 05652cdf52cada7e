"""The blemishes real bar files have, mended before the rows are read, each counted in a
note the run prints so nothing is dropped without a word:

* Yahoo's ``null`` rows (``2006-08-12,null,null,…``: a day it has no prices for) are
  skipped;
* a row that repeats the one before it exactly (time and values) is dropped, and so is
  one that repeats an earlier row when the times go backwards (two overlapping exports
  pasted together: :func:`without_repeats`, which :mod:`.csvorder` calls then); a
  repeated time with other values stays an error naming both lines, as which of them is
  right is not for the replay to guess;
* a last line cut off (fewer values than the line before it: a download interrupted)
  is dropped; a short line anywhere else stays an error;
* a file written newest first, strictly, is read reversed (:mod:`.csvdata` tries it when
  the times go backwards).

An empty cell in the middle of the file stays an error, as it may hide a real problem,
except the volume's: a bar whose volume cell is empty in a file that has one reads as
having no volume (:mod:`.csvdata`'s generic layout), counted here too, as are the flat
bars of no volume Dukascopy fills a closed market's hours with, left out
(:mod:`.csvdukascopy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .csvheader import base_volume_why

Rows = list[tuple[int, list[str]]]

#: what a missing price is written as: Yahoo's ``null``, pandas' ``NaN``
_NULLS = frozenset({"null", "nan"})
#: the names of the columns that say a bar's time, in every layout with a header
_TIME_NAMES = frozenset(
    {"", "time", "timestamp", "date", "datetime", "<date>", "<time>", "gmt time", "local time"}
)
#: line numbers a note names before "…"
_SHOWN = 3


@dataclass
class Mended:
    """What was mended in one file: the line numbers of each kind."""

    nulls: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    #: the lines of rows that repeat an earlier row exactly, each with that row's line
    earlier_repeats: list[tuple[int, int]] = field(default_factory=list)
    cut_off: list[int] = field(default_factory=list)
    no_volume: list[int] = field(default_factory=list)
    #: Dukascopy's flat bars of no volume for the hours a market is closed
    #: (:mod:`.csvdukascopy`)
    fillers: list[int] = field(default_factory=list)
    reversed_lines: tuple[int, int] | None = None
    #: the column read as the volume when none is named so (:func:`.csvheader.base_volume`)
    volume_from: str | None = None
    #: the column read as the time when none is named so and others would do as well
    #: (:func:`.csvshape.time_column`), and those others
    time_from: tuple[str, list[str]] | None = None
    #: the first line whose time is written with an offset and the first without one,
    #: in a file that has both (:meth:`clock_of`), and the clock those without are read on
    mixed_clocks: tuple[int, int] | None = None
    _first_clock: tuple[int, bool] | None = None

    def clock_of(self, line: int, text: str) -> None:
        """Note whether ``text``, the time of ``line``, is written with an offset: a file
        mixing ``10:00+02:00`` and ``10:05`` reads the second on the data's clock
        (``--data-tz``), which is right only if that is the first's (README, "Time
        zones")."""
        if self.mixed_clocks is not None:
            return
        offset = with_offset(text)
        first = self._first_clock
        if first is None:
            self._first_clock = line, offset
        elif first[1] != offset:
            self.mixed_clocks = (first[0], line) if first[1] else (line, first[0])

    def restart(self) -> None:
        """Forget what the loader counted in a pass over the rows that failed: the file
        is read again (reversed, :mod:`.csvdata`), which counts them all."""
        self.no_volume.clear()
        self.fillers.clear()
        self.mixed_clocks = self._first_clock = None

    def notes(self, path: str) -> list[str]:
        """One sentence per kind of mending, naming the file and the first lines."""
        said = []
        if self.nulls:
            said.append(
                f"skipped {_count(self.nulls, 'row')} of null prices ({_lines(self.nulls)})"
            )
        if self.repeats:
            said.append(
                f"dropped {_count(self.repeats, 'row')} repeating the row before exactly "
                f"({_lines(self.repeats)})"
            )
        if self.earlier_repeats:
            said.append(
                f"dropped {_count([n for n, _ in self.earlier_repeats], 'row')} repeating "
                f"earlier rows exactly, time and values ({_blocks(self.earlier_repeats)}: "
                "overlapping exports pasted together?)"
            )
        if self.cut_off:
            said.append(f"dropped the cut-off last line ({_lines(self.cut_off)})")
        if self.no_volume:
            said.append(
                f"read {_count(self.no_volume, 'bar')} with an empty volume cell as no "
                f"volume ({_lines(self.no_volume)})"
            )
        if self.fillers:
            said.append(
                f"left out {_count(self.fillers, 'flat zero-volume filler bar')} Dukascopy "
                f"writes for the hours the market is closed ({_lines(self.fillers)})"
            )
        if self.volume_from is not None:
            said.append(
                f"the volume is column {self.volume_from!r} (no column is named volume: "
                f"{base_volume_why(self.volume_from)})"
            )
        if self.time_from is not None:
            name, others = self.time_from
            also = " and ".join(repr(o) for o in others)
            said.append(
                f"the time is column {name!r} (no column is named time; {also} "
                f"{'holds' if len(others) == 1 else 'hold'} dates and times too, not read)"
            )
        if self.mixed_clocks is not None:
            offset, naive = self.mixed_clocks
            said.append(
                f"times written with an offset (line {offset}) and without one (line "
                f"{naive}) are mixed: those without were read on the data's clock "
                "(--data-tz or [host] data_tz; UTC unset), not on the offset's"
            )
        if self.reversed_lines is not None:
            first, last = self.reversed_lines
            said.append(
                f"read newest first (line {first} to line {last}) and reversed to oldest first"
            )
        return [f"{path}: {s}" for s in said]


def mend_rows(rows: Rows, header: Sequence[str] | None, mended: Mended) -> Rows:
    """``rows`` (the data lines, without the header) without Yahoo's null rows, exact
    repeats and a cut-off last line, each recorded in ``mended``. ``header``: the
    file's header, to tell its time columns; ``None`` when the file has none (its first
    two cells may be a date and a time: MetaTrader 4's ``2024.01.02,00:05``)."""
    named = (
        set()
        if header is None
        else {i for i, name in enumerate(header) if name.strip().lower() in _TIME_NAMES}
    )
    kept: Rows = []
    for line, cells in rows:
        times = named if header is not None else {0, 1} if ":" in "".join(cells[1:2]) else {0}
        if _null_row(cells, times):
            mended.nulls.append(line)
        elif kept and cells == kept[-1][1]:
            mended.repeats.append(line)
        else:
            kept.append((line, cells))
    if len(kept) > 1:
        line, cells = kept[-1]
        width = len(kept[-2][1])
        if len(cells) < width and (header is None or len(cells) < len(header)):
            mended.cut_off.append(line)
            kept.pop()
    return kept


def without_repeats(rows: Rows, mended: Mended) -> Rows:
    """``rows`` (the data lines) without those that repeat an earlier row exactly, the
    first of each kept, recorded in ``mended``: the block two overlapping exports pasted
    together repeat. Only asked for once the times go backwards (:mod:`.csvorder`): a
    row is compared with every row before it, at the cost of a table of them all."""
    seen: dict[tuple[str, ...], int] = {}
    kept: Rows = []
    for line, cells in rows:
        first = seen.setdefault(tuple(cells), line)
        if first == line:
            kept.append((line, cells))
        else:
            mended.earlier_repeats.append((line, first))
    return kept


def _blocks(repeats: list[tuple[int, int]]) -> str:
    """The runs of consecutive lines in ``repeats`` (a line, the line it repeats), with
    the lines they repeat: ``lines 1202-1301 as lines 1102-1201``; the first few."""
    runs: list[list[tuple[int, int]]] = []
    for line, first in repeats:
        if runs and (line, first) == (runs[-1][-1][0] + 1, runs[-1][-1][1] + 1):
            runs[-1].append((line, first))
        else:
            runs.append([(line, first)])

    def span(a: int, b: int) -> str:
        return f"line {a}" if a == b else f"lines {a}-{b}"

    said = [f"{span(r[0][0], r[-1][0])} as {span(r[0][1], r[-1][1])}" for r in runs[:_SHOWN]]
    return "; ".join(said) + ("; …" if len(runs) > _SHOWN else "")


def _null_row(cells: list[str], times: set[int]) -> bool:
    """Whether every value of a row but its time is missing, one at least written so."""
    joined = "".join(cells)
    if "n" not in joined and "N" not in joined:  # the common row: no null in sight
        return False
    values = [c.lower() for i, c in enumerate(cells) if i not in times]
    return any(v in _NULLS for v in values) and all(v in _NULLS or v == "" for v in values)


def _count(lines: list[int], what: str) -> str:
    return f"{len(lines)} {what}{'s' if len(lines) != 1 else ''}"


def _lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_SHOWN])
    more = ", …" if len(lines) > _SHOWN else ""
    return f"line{'s' if len(lines) != 1 else ''} {shown}{more}"


def with_offset(text: str) -> bool:
    """Whether a time as written ends with its offset from UTC (``…Z``, ``…+02:00``,
    ``…-0500``), told from its last characters: a date's ``-02`` is no offset."""
    t = text.rstrip()
    if not t:
        return False
    if t[-1] in "Zz":
        return len(t) > 1 and t[-2].isdigit()
    if len(t) >= 7 and t[-3] == ":" and t[-6] in "+-" and ":" in t[:-6]:
        return t[-5:-3].isdigit() and t[-2:].isdigit()  # a time, then ±HH:MM
    return len(t) >= 6 and t[-5] in "+-" and t[-4:].isdigit() and ":" in t[:-5]  # ±HHMM
