"""Progress of replays, on stderr so stdout stays clean for ``--json``: a bar for one
run, and one display for the several runs of an A/B or a sweep, wherever they run.

On a terminal each redraws one line (``\\r``) at most ten times a second; anywhere else
(CI logs, pipes) it prints a plain line every 10 %, because a log full of carriage returns
is unreadable; under ``--log-json`` that line is a log record (``hostapp.progress``, with
``done`` and ``total``), so stderr stays JSON lines. The loop calls a run's progress once
per cycle, so the common path is one comparison.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from .logs import json_line, json_logs

WIDTH = 30
MIN_INTERVAL = 0.1  # seconds between redraws on a terminal


def _plain(stream: TextIO, text: str, done: int, total: int, unit: str) -> None:
    """One progress line on ``stream``: a JSON line (``hostapp.progress``, event
    ``progress`` with ``done`` of ``total`` ``unit``) when the console logs are."""
    if json_logs():
        fields = {"event": "progress", "done": done, "total": total, "unit": unit}
        text = json_line("hostapp.progress", text, **fields)
    stream.write(text + "\n")
    stream.flush()


class Progress(Protocol):
    """What a run reports its progress to: ``progress(done, total)`` per cycle, then
    ``finish()``."""

    def __call__(self, done: int, total: int) -> None: ...

    def finish(self) -> None: ...


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
        self.tty = (self.stream.isatty() and not json_logs()) if tty is None else tty
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
        text = f"{self.label}: {pct:3d}% ({done}/{total} bars)"
        _plain(self.stream, text, done, total, "bars")
        self.lines += 1

    def finish(self) -> None:
        """Draw the final state and end the line (a terminal bar stays visible)."""
        if self._last is not None and self.tty:
            self._draw(*self._last)
            self.stream.write("\n")
            self.stream.flush()


class RunsProgress:
    """One display for several runs (an A/B's, a sweep's), in this process or in workers:
    how many of the ``expected`` runs are done and how far each running one is. A run
    reports through :meth:`update` and :meth:`done` under an id of the caller's. A run
    that ends before its last bar (stopped) is not counted as done: after a Ctrl-C the
    display says how many runs went through, not how many ended."""

    def __init__(
        self,
        expected: int,
        label: str = "runs",
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.expected = max(1, expected)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = (self.stream.isatty() and not json_logs()) if tty is None else tty
        self._clock = clock
        self._started = clock()
        self._next_at = 0.0
        self._next_pct = 0
        self._running: dict[int, tuple[str, float]] = {}  # id -> (label, fraction done)
        self._finished = 0
        self._stopped = 0
        self.lines = 0

    def expect(self, more: int) -> None:
        """``more`` runs were planned after the display started (a sweep's test runs)."""
        self.expected += more

    def run(self, run_id: int, label: str) -> Progress:
        """A run's own ``Progress`` for a run in this process."""
        return _OneRun(self, run_id, label)

    def update(self, run_id: int, label: str, done: int, total: int) -> None:
        self._running[run_id] = (label, done / total if total else 1.0)
        self._show(force=done >= total)

    def done(self, run_id: int) -> None:
        run = self._running.pop(run_id, None)
        if run is not None:
            if run[1] >= 1.0:
                self._finished += 1
            else:
                self._stopped += 1
            self._show(force=True)

    def _runs(self) -> str:
        stopped = f", {self._stopped} stopped" if self._stopped else ""
        return f"{self._finished}/{self.expected} runs{stopped}"

    def finish(self) -> None:
        """End the terminal line (the last state stays visible)."""
        if self.tty and self.lines:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _fraction(self) -> float:
        running = sum(f for _, f in self._running.values())
        return min(1.0, (self._finished + running) / self.expected)

    def _show(self, force: bool = False) -> None:
        if self.tty:
            now = self._clock()
            if now >= self._next_at or force:
                self._next_at = now + MIN_INTERVAL
                self._draw()
            return
        pct = int(self._fraction() * 100)
        pct = pct if self._finished >= self.expected else min(pct, 99)  # 100: all done
        if pct >= self._next_pct:
            self._next_pct = (pct // 10 + 1) * 10
            text = f"{self.label}: {pct:3d}% ({self._runs()})"
            _plain(self.stream, text, self._finished, self.expected, "runs")
            self.lines += 1

    def _draw(self) -> None:
        elapsed = self._clock() - self._started
        each = " · ".join(f"{lbl} {f * 100:3.0f}%" for lbl, f in self._running.values())
        text = (
            f"{self.label} {self._fraction() * 100:5.1f}%  {self._runs()}  {elapsed:5.1f}s  {each}"
        )
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + text[:width].ljust(width))
        self.stream.flush()
        self.lines += 1


class _OneRun:
    """A run in this process reporting straight to the shared display."""

    def __init__(self, display: RunsProgress, run_id: int, label: str) -> None:
        self.display, self.run_id, self.label = display, run_id, label

    def __call__(self, done: int, total: int) -> None:
        self.display.update(self.run_id, self.label, done, total)

    def finish(self) -> None:
        self.display.done(self.run_id)
