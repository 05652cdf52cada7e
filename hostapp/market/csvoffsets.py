"""A file whose times are written some with their offset and some without.

``10:00+02:00``, ``10:05``, ``10:10Z`` in one column: the times without an offset are
read in ``--data-tz`` (UTC unless told), those with one as they say, and the bars were
read with a silent two-hour gap between them. Which clock the bare ones were meant on is
not for the host to guess: the file is refused, naming a line of each kind.
"""

from __future__ import annotations

import re
from pathlib import Path

from .csvrows import CsvError

#: an offset written after a time of day: ``Z``, ``+02:00``, ``-0500``, ``+02``
_OFFSET = re.compile(r"\d(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def written_offset(text: str) -> bool | None:
    """Whether a time cell says its offset; ``None`` when it cannot (a date alone, an
    epoch number: UTC by definition)."""
    t = text.strip()
    if ":" not in t:
        return None
    return bool(_OFFSET.search(t))


class OffsetsSeen:
    """The first line of a file whose time said its offset, and the first that did not."""

    __slots__ = ("_path", "_with", "_without")

    def __init__(self, path: str | Path) -> None:
        self._path = path
        self._with: tuple[int, str] | None = None
        self._without: tuple[int, str] | None = None

    def see(self, line: int, text: str) -> None:
        """Take one row's time; a :class:`CsvError` once both kinds have been seen."""
        said = written_offset(text)
        if said is None:
            return
        if said and self._with is None:
            self._with = line, text.strip()
        elif not said and self._without is None:
            self._without = line, text.strip()
        else:
            return
        if self._with is not None and self._without is not None:
            (w_line, w_text), (n_line, n_text) = self._with, self._without
            raise CsvError(
                self._path,
                max(w_line, n_line),
                f"times written with an offset and without one: line {w_line} "
                f"{w_text!r}, line {n_line} {n_text!r}; write every time one way (the times "
                "without an offset are read in --data-tz, which would put a gap or an "
                "overlap between them)",
            )
