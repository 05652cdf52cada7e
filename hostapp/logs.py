"""Logging set-up for the ``hostapp`` and ``dtms`` commands: human lines by default, one
JSON object per line with ``--log-json``.

Why one function for both commands: an operator who runs the host and the DTMS server side
by side feeds both logs to the same collector, so both must write the same shapes. The
formatters themselves live in :mod:`hookspecs.events`, where plugins can reach them too.
"""

from __future__ import annotations

import logging
import sys
from contextlib import suppress
from typing import TextIO

from hookspecs.events import HumanFormatter, JsonFormatter

#: Marks the handler this module installed, so a second call replaces it instead of
#: doubling every line.
_HANDLER_NAME = "hostapp.logs"


def formatter(json: bool) -> logging.Formatter:
    """The formatter of ``--log-json`` (``json=True``) or of human-readable logs."""
    return JsonFormatter() if json else HumanFormatter()


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


class ReportLog(logging.FileHandler):
    """A command's log file in its report folder (``hostapp.log``). A record it cannot
    write (a full disk) is said once, one line on stderr naming the file and why, and the
    log stops there: logging's own handler printed a traceback for every record after,
    hundreds of them between a run's progress and its table. Any other failure (a
    record whose arguments do not fit its message: a bug) gets logging's traceback."""

    def __init__(self, path: str, json: bool = False) -> None:
        super().__init__(path, mode="w", encoding="utf-8")
        self.setFormatter(formatter(json))
        self.stopped = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.stopped:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        failure = sys.exc_info()[1]
        if not isinstance(failure, OSError):
            super().handleError(record)
            return
        self.stopped = True
        why = failure.strerror or failure
        print(f"hostapp: cannot write the log {self.baseFilename}: {why}; it stops here",
              file=sys.stderr)  # fmt: skip

    def close(self) -> None:
        with suppress(OSError):  # what it could not write was said when it stopped
            super().close()
