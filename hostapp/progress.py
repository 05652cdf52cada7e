"""A progress bar for replays, on stderr so stdout stays clean for ``--json``.

On a terminal it redraws one line (``\\r``) at most ten times a second; anywhere else (CI
logs, pipes) it prints a plain line every 10 %, because a log full of carriage returns
is unreadable. The loop calls it once per cycle, so the common path is one comparison.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30
MIN_INTERVAL = 0.1  # seconds between redraws on a terminal


class ProgressBar:
    """Callable as ``bar(done, total)``; :meth:`finish` ends the line."""

    def __init__(
        self,
        label: str = "replay",
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._clock = clock
        self._next_at = 0.0
        self._next_pct = 0  # plain mode: the next multiple of 10 to print
        self._last: tuple[int, int] | None = None
        self._started = self._clock()
        self.lines = 0  # how many updates were written (tests read it)

    def __call__(self, done: int, total: int) -> None:
        self._last = (done, total)
        if self.tty:
            now = self._clock()
            if now < self._next_at and done < total:
                return
            self._next_at = now + MIN_INTERVAL
            self._draw(done, total)
        else:
            pct = done * 100 // total if total else 100
            if pct >= self._next_pct:
                self._next_pct = (pct // 10 + 1) * 10
                self._line(done, total, pct)

    def _draw(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = self._clock() - self._started
        self.stream.write(
            f"\r{self.label} [{bar}] {frac * 100:5.1f}%  {done}/{total} bars  {elapsed:5.1f}s"
        )
        self.stream.flush()
        self.lines += 1

    def _line(self, done: int, total: int, pct: int) -> None:
        self.stream.write(f"{self.label}: {pct:3d}% ({done}/{total} bars)\n")
        self.stream.flush()
        self.lines += 1

    def finish(self) -> None:
        """Draw the final state and end the line (a terminal bar stays visible)."""
        if self._last is not None and self.tty:
            self._draw(*self._last)
            self.stream.write("\n")
            self.stream.flush()
