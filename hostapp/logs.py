"""Logging set-up for the ``hostapp`` and ``dtms`` commands: human lines by default, one
JSON object per line with ``--log-json``.

Why one function for both commands: an operator who runs the host and the DTMS server side
by side feeds both logs to the same collector, so both must write the same shapes. The
formatters themselves live in :mod:`hookspecs.events`, where plugins can reach them too.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from hookspecs.events import FOR_TERMINAL, FOR_TERMINAL_ONCE, HumanFormatter, JsonFormatter

#: Marks the handler this module installed, so a second call replaces it instead of
#: doubling every line.
_HANDLER_NAME = "hostapp.logs"


#: The run whose records are being logged, in a command of several (an A/B's, a sweep's:
#: :func:`hostapp.ab_runs.execute` sets it); None in a command of one.
RUN: ContextVar[str | None] = ContextVar("hostapp_run", default=None)


class RunLabel(logging.Filter):
    """Names the run a record is of (``run``, and ``_run_tag`` for the human format) when
    :data:`RUN` says one: an A/B replays the same bars three times, a sweep dozens, and a
    plugin's failure or DTMS's warning said once in each read as the same line said
    three times, none saying which run it was of. Set where the record is handled, in
    the process that made it (a worker's records reach the parent with theirs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        run = RUN.get()
        if run is not None and not hasattr(record, "run"):
            record.run = run
            record._run_tag = f" [{run}]"
        return True


#: A record with this attribute true (``extra={TERMINAL: True}``) is a WARNING for the
#: terminal of ``run`` and ``replay`` too, not only their ``hostapp.log``: the end of an
#: episode whose start was said there at ERROR (:class:`ForTerminal`); the contract's name
#: for it, which a plugin marks its own such lines with
#: (:data:`hookspecs.events.FOR_TERMINAL`).
TERMINAL = FOR_TERMINAL

#: Like :data:`TERMINAL`, for a line the terminal shows once per text, whichever run says
#: it: a plugin's oddities found as it loads, which every run of an A/B or a sweep finds
#: again. The end of an episode is never one of these: a live run that lasts weeks may
#: say the same end twice ("back on after 5 min switched off (1 retry)"), and the second
#: time, kept from the terminal, left the failure said there without its end.
ONCE = FOR_TERMINAL_ONCE


class ForTerminal(logging.Filter):
    """What reaches the terminal of a command that keeps ``hostapp.log``: errors, the
    warnings marked :data:`TERMINAL` (the end of an episode its errors began), and those
    marked :data:`ONCE`, each text once (every run of an A/B or a sweep loads its plugins
    again, and would say it again): a method named like a hook without ``@hookimpl``, a
    table's keys no one checks, a plugin every run must share. They were written to the
    log alone, so a user saw them only in ``hostapp plugins``."""

    def __init__(self) -> None:
        super().__init__()
        self._said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or getattr(record, TERMINAL, False):
            return True
        if not getattr(record, ONCE, False):
            return False
        text = record.getMessage()
        if text in self._said:
            return False
        self._said.add(text)
        return True


def formatter(json: bool) -> logging.Formatter:
    """The formatter of ``--log-json`` (``json=True``) or of human-readable logs."""
    return JsonFormatter() if json else HumanFormatter()


class OneLine(HumanFormatter):
    """:class:`HumanFormatter` without the traceback: the terminal of a command that keeps
    ``hostapp.log`` (``run``, ``replay``), where a plugin's failure is one line between
    the progress and the table, and the log has its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = logging.makeLogRecord(
                {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
            )
            return super().format(record) + " (traceback in hostapp.log)"
        return super().format(record)


class PluginLines(HumanFormatter):
    """The terminal of ``hostapp serve``, which keeps no log file: the host's line about
    a plugin's failure (logger ``hostapp.plugins``) is the line alone, as on the terminal
    of ``run``; ``--log-level DEBUG`` shows its traceback. The host's own errors keep
    theirs: a traceback is for a bug of the host."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "hostapp.plugins" and (record.exc_info or record.exc_text):
            record = logging.makeLogRecord(
                {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
            )
            return super().format(record) + " (its traceback with --log-level DEBUG)"
        return super().format(record)


def json_logs() -> bool:
    """Does this process log JSON lines on the console (``--log-json``)? Then whatever
    else it writes on stderr (a replay's progress) must be JSON lines too, or a collector
    reading them stumbles on the first plain one."""
    return any(
        isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
        and isinstance(h.formatter, JsonFormatter)
        for h in logging.getLogger().handlers
    )


def json_line(logger: str, message: str, **fields: object) -> str:
    """``message`` as a ``--log-json`` line of ``logger`` at INFO, with ``fields``: for
    what a command writes on stderr itself, whatever level its handlers let through."""
    record = logging.getLogger(logger).makeRecord(
        logger, logging.INFO, "", 0, message, (), None, extra=fields
    )
    return JsonFormatter().format(record)


def configure_logging(
    json: bool = False, level: int | str = logging.INFO, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records at ``level`` and above to ``stream`` (stderr).

    Idempotent: calling it again (a test, a command that re-configures after parsing its
    config) swaps the handler it installed before and leaves other handlers alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(json))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


#: How long a report log that could not be written waits before it tries again, seconds.
RETRY_AFTER = 60.0


class ReportLog(logging.FileHandler):
    """A command's log file in its report folder (``hostapp.log``).

    A record it cannot write (a full disk) starts an episode: one line on stderr naming
    the file and why, then the records are counted and dropped (logging's own handler
    printed a traceback for each, hundreds of them between a run's progress and its
    table). At the first record ``retry_after`` seconds (of ``clock``) or more after the
    last failure it tries again, the file reopened to append; when that write succeeds,
    the log says first how many records it lost and since when, and so does stderr, where
    the episode's start was read (a terminal said the log stopped, and never that it was
    written again). A live run lasts weeks: a few minutes of a full disk must not cost it
    every record after. Any other failure (a record whose arguments do not fit its
    message: a bug) gets logging's traceback.

    A live run's (``held``) touches no file until the run starts: a start refused
    (the data ended, a store that cannot be opened) appends its lines to the log there
    and rotates nothing (:meth:`settle`); only a run that starts moves the earlier log
    aside for its own (:meth:`begin`). Meanwhile each held line is also written to
    ``<log>.starting``, removed when they are let go: a start killed while it hung (a
    terminal that never answers, stopped by its service manager) left no line of its
    own, and the next start appends them to the log there, under a line saying so."""

    def __init__(
        self,
        path: str,
        json: bool = False,
        *,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
        held: bool = False,
    ) -> None:
        super().__init__(path, mode="w", encoding="utf-8", delay=held)
        self.setFormatter(formatter(json))
        #: ``held``: the records kept here until :meth:`begin` (the run starts: a fresh
        #: file) or :meth:`settle` (it never did: appended to the file there)
        self._held: list[logging.LogRecord] | None = [] if held else None
        #: the held lines' side file (``<log>.starting``), opened at the first of them
        self._starting: TextIO | None = None
        if held:
            self._recover_killed_start()
        self.retry_after = retry_after
        self._clock = clock
        #: the records not written in this episode, the first one's time, the next try
        self.lost = 0
        self._since: float | None = None
        self._retry_at = 0.0
        self._done = False

    @property
    def stopped(self) -> bool:
        """In an episode: the last write failed, and none has succeeded since."""
        return self._since is not None

    def begin(self, rotate: Callable[[], object]) -> None:
        """The run starts: ``rotate`` moves the earlier log aside, and the held records
        open the fresh file (opened now, even without one: the log is where it is said
        to be from the run's start)."""
        if self._held is None:
            return
        rotate()
        self._let_go("w")
        if self.stream is None and not self._done:
            with suppress(OSError):  # unwritable: its first record says so, as any other
                self.stream = self._open()

    def settle(self) -> None:
        """The command ends without its run having started (a start refused): the held
        records are appended to the log there, the earlier run's, which stays where it
        is. A live host restarted in a loop of refused starts rotated a log away at each,
        and after five of them kept none that said why it first stopped."""
        if self._held is not None:
            self._let_go("a")

    def _let_go(self, mode: str) -> None:
        self.acquire()  # another thread's record waits, so the held ones come first
        try:
            held, self._held = self._held or [], None
            self.mode = mode
            for record in held:
                self.emit(record)
            self._drop_starting()
        finally:
            self.release()

    @property
    def _starting_path(self) -> str:
        return f"{self.baseFilename}.starting"

    def _recover_killed_start(self) -> None:
        """The lines of a start killed before it let them go, appended to the log there
        under a line that says so; the side file removed."""
        try:
            with open(self._starting_path, encoding="utf-8", errors="replace") as f:
                lines = f.read()
        except OSError:
            return
        if lines.strip():
            when = datetime.now(UTC).isoformat(timespec="seconds")
            try:
                with open(self.baseFilename, "a", encoding="utf-8") as log:
                    log.write(
                        f"--- these lines are of a start killed before its run began (no "
                        f"clean stop), found at the next start at {when}:\n{lines}"
                        + ("" if lines.endswith("\n") else "\n")
                    )
            except OSError:
                return  # kept for a start that can write the log (a full disk now)
        with suppress(OSError):
            os.unlink(self._starting_path)

    def _keep_starting(self, record: logging.LogRecord) -> None:
        """A held line, also in the side file: nothing else of it is on disk yet."""
        with suppress(Exception):  # a start must not fail for its side file
            if self._starting is None:
                self._starting = open(self._starting_path, "a", encoding="utf-8")  # noqa: SIM115
            self._starting.write(self.format(record) + self.terminator)
            self._starting.flush()

    def _drop_starting(self) -> None:
        starting, self._starting = self._starting, None
        with suppress(OSError):
            if starting is not None:
                starting.close()
            os.unlink(self._starting_path)

    def emit(self, record: logging.LogRecord) -> None:
        if self._held is not None:
            self._held.append(record)
            self._keep_starting(record)
            return
        if self._since is not None and self._clock() < self._retry_at:
            self.lost += 1
            return
        resumed = self._resumed() if self._since is not None else None
        try:
            text = self.format(record) + self.terminator
            if resumed is not None:
                text = self.format(resumed) + self.terminator + text
            if self.stream is None:
                if self._done:  # closed by its command: dropped, as logging's own does
                    return
                self.stream = self._open()
            self.stream.write(text)
            self.flush()
        except RecursionError:
            raise
        except OSError as failure:
            self._failed(record, failure)
            return
        except Exception:
            self.handleError(record)
            return
        self._since, self.lost = None, 0
        if resumed is not None:
            print(f"hostapp: {self.baseFilename}: {resumed.getMessage()}", file=sys.stderr)

    def _resumed(self) -> logging.LogRecord:
        """The line that ends an episode: what was lost, and since when."""
        since = datetime.fromtimestamp(self._since or 0.0, UTC).isoformat(timespec="seconds")
        n = self.lost
        return logging.getLogger(__name__).makeRecord(
            __name__, logging.WARNING, "", 0,
            f"log resumed: {n:,} record{'s' if n != 1 else ''} not written since {since}",
            (), None,
        )  # fmt: skip

    def _failed(self, record: logging.LogRecord, failure: OSError) -> None:
        """A write failed: the stream goes (what it holds unwritten with it, so the count
        is true), the next try is ``retry_after`` away, and stderr hears of the episode's
        first failure only."""
        stream, self.stream = self.stream, None
        if stream is not None:
            with suppress(OSError):
                stream.close()
        self.mode = "a"  # a reopened log keeps what was written before
        self.lost += 1
        self._retry_at = self._clock() + self.retry_after
        if self._since is not None:
            return
        self._since = record.created
        why = failure.strerror or failure
        print(f"hostapp: cannot write the log {self.baseFilename}: {why}; its records are "
              f"counted and dropped, and writing is tried again every {self.retry_after:g} s",
              file=sys.stderr)  # fmt: skip

    def close(self) -> None:
        self._done = True
        with suppress(OSError):  # what it could not write was said when it stopped
            super().close()
