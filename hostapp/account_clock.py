"""A serving host's watch on the clock of its paper account file.

A serving host on a paper account runs on the account file's clock: the newest quote the
trading host (``hostapp run --live``) wrote there (:mod:`hostapp.runtime`). With no
trading host driving the file that clock stands still, and so does everything a plugin
counts on it: DTMS takes a position the broker no longer lists as gone only after
:data:`hookspecs.UNCONFIRMED_CLOSE_SECONDS` of that clock, and its bar-counted deadlines
never come. Nothing is wrong with the server, and nothing happens; the rule of the
project (a part that cannot do its job says so) wants it said. So this says it, once per
episode: when the clock has not moved for :func:`standing_after` seconds of wall time, and
again when it moves, with how long it stood; at start-up at once when the file has no
quotes or nothing has written it for that long. The clock itself stays the account's: a
wall clock would close positions the trading host still holds on its own time.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from .durations import duration_text

log = logging.getLogger("hostapp.serve")

#: How many of the slower of the two periods (the serving host's monitoring cycle, the
#: trading host's ``[host] cycle_seconds``) the clock may stand before it is said.
STANDING_CYCLES = 4

#: What a standing clock means, as each line about it says.
MEANING = (
    "no host is trading on this account file: hostapp run --live from the same folder"
    " drives it (or the one that does is at a gap in its data, or plays it slower than"
    " this); until then nothing is closed, moved or found gone"
)


def standing_after(monitor_seconds: float, cycle_seconds: float) -> float:
    """Seconds of wall time after which a clock that has not moved is standing.

    A trading host on the file moves its clock one bar every ``cycle_seconds`` (a paper
    ``hostapp run --live``: one bar a cycle), and this host looks at it once every
    ``monitor_seconds``: four of the slower of the two is never a driven clock between two
    bars, nor one look that fell between them, yet is two minutes with the shipped
    ``cycle_seconds = 30``, well inside the minutes a client waits for ``position gone``.
    A ``--speed`` host whose bars come further apart than that (``--speed 1`` on M5, or
    across a weekend of its data) stands the clock as long, and is said the same way:
    nothing moves meanwhile either."""
    return STANDING_CYCLES * max(monitor_seconds, cycle_seconds)


def last_written(path: str | Path) -> float | None:
    """When the account file was last written (``time.time()`` seconds): its own or its
    write-ahead log's modification time, whichever is newer (the trading host's writes
    land in ``<file>-wal`` until SQLite checkpoints them); None when neither exists."""
    file = Path(path)
    times = []
    for each in (file, file.with_name(file.name + "-wal")):
        try:
            times.append(each.stat().st_mtime)
        except OSError:
            continue
    return max(times, default=None)


class AccountClockWatch:
    """Says when the account file's clock stands and when it moves again.

    ``written`` is :func:`last_written` read before the serving host opened the file,
    ``quoted`` whether it held a quote of a traded symbol then. :meth:`start` says the
    start-up line, :meth:`observe` is given every clock reading of the monitoring loop,
    and :meth:`standing` is the host's status in words while the clock stands. One
    thread (the serving host's event loop) calls all of them."""

    def __init__(
        self,
        account_file: str,
        *,
        written: float | None,
        quoted: bool,
    ) -> None:
        self._file = account_file
        self._written = written
        self._quoted = quoted
        self._threshold = float("inf")
        self._at: datetime | None = None  # the clock's last reading
        self._since = 0.0  # monotonic time it has stood at that reading from
        self._said = False  # this episode was said
        #: monitoring cycles that found it standing, this episode (all of them: a count
        #: of those after its line read "2 min … (1 monitoring cycle)")
        self._looks = 0

    def start(self, now: datetime, threshold: float) -> None:
        """Take the clock's first reading and the threshold of :func:`standing_after`;
        say in one line when the file has no quotes, or when nothing has written it for
        ``threshold`` seconds: its clock stands already."""
        self._threshold = threshold
        self._at = now
        self._since = time.monotonic()
        idle = None if self._written is None else max(0.0, time.time() - self._written)
        if idle is not None and self._quoted:
            self._since -= idle  # it has stood since the last write at least
        if not self._quoted:
            self._open()
            log.warning(  # its clock is a made-up start, no time the file ever held
                "the account file %s has no quotes yet (no host has traded on it): %s",
                self._file, MEANING,
            )  # fmt: skip
        elif idle is not None and idle >= threshold:
            self._open()
            log.warning(
                "the account file %s stands at %s: nothing has written it for %s of wall"
                " time: %s",
                self._file, now.isoformat(), duration_text(idle), MEANING,
            )  # fmt: skip

    def observe(self, now: datetime) -> None:
        """One reading of the clock by the monitoring loop: the episode's line when it
        has stood for the threshold, the end's when it moved (back too: a new run)."""
        if self._at is None:
            return  # not started
        if now != self._at:
            if self._said:
                count = f"{self._looks} monitoring cycle{'' if self._looks == 1 else 's'}"
                log.warning(
                    "the account file %s moves again (at %s), after standing at %s for %s"
                    " of wall time (%s)",
                    self._file, now.isoformat(), self._at.isoformat(),
                    duration_text(self._stood()), count,
                )  # fmt: skip
            self._at, self._since, self._said, self._looks = now, time.monotonic(), False, 0
            return
        self._looks += 1
        if not self._said and self._stood() >= self._threshold:
            self._open()
            log.warning(
                "the account file %s has stood at %s for %s of wall time: %s",
                self._file, now.isoformat(), duration_text(self._stood()), MEANING,
            )  # fmt: skip

    def standing(self) -> str | None:
        """The host's status in words while the clock stands (after its line was said);
        None while it moves."""
        if not self._said or self._at is None:
            return None
        return (
            f"the account file {self._file} has stood at {self._at.isoformat()} for"
            f" {duration_text(self._stood())} of wall time: {MEANING}"
        )

    def _open(self) -> None:
        self._said = True

    def _stood(self) -> float:
        return time.monotonic() - self._since
