"""When a live run's report folder turns over: at the run's start, not at the command's.

A live host is restarted by a service after each stop, and a start may be refused (the
account's data ended, other data than the account was traded on, a store that cannot be
opened): moving the earlier log and summary aside at each such start left, after five of
them, none of the files that said why the host first stopped, nor the refusal itself
(README, "keeps the log that says why it first stopped"). So the command's log lines are
held (:class:`~hostapp.logs.ReportLog`) until the run starts; then the earlier log,
summary and trades move aside (:func:`begin_live`). A start refused before that appends
its lines, and the refusal (:func:`log_refusal`), to the log there, and moves nothing.

The run starts when its plugins have started and none refused to (the host enters
``--serve`` there, :func:`hostapp.driving.drive`): :func:`at_start` is entered there too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from . import app as appmod
from .driving import LOG_NAME, Serve
from .live_interim import said_unfinished
from .logs import ReportLog
from .report_files import LIVE_KEPT, clear_report, keep_live_summary, keep_previous


def at_start(serve: Serve | None, begin: Callable[[], None]) -> Serve:
    """``serve`` (``--serve``, or nothing) entered after ``begin()``, once the run starts."""

    @asynccontextmanager
    async def started(app: appmod.App) -> AsyncIterator[Any]:
        begin()
        if serve is None:
            yield None
            return
        async with serve(app) as served:
            yield served

    return started


def begin_live(report: Path, log: ReportLog | None) -> None:
    """The live run starts: the run before's summary and trades are kept beside the new
    ones, an earlier command's files cleared (a file that cannot be is a ConfigError),
    and its log moves to ``hostapp.log.1`` for this run's (:data:`LIVE_KEPT` of each).
    A run before that did not stop cleanly left an interim report: that is said."""
    said_unfinished(report)
    keep_live_summary(report)
    clear_report(report)
    if log is not None:
        log.begin(lambda: keep_previous(report / LOG_NAME, LIVE_KEPT))


def log_refusal(exc: BaseException) -> None:
    """The line that ends a refused command, also in its ``hostapp.log`` (its terminal
    has it from the command itself): a log ending in the start-up's lines did not say
    why the host stopped there."""
    record = logging.getLogger("hostapp").makeRecord(
        "hostapp", logging.ERROR, "", 0, "refused: %s", (str(exc),), None
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, ReportLog):
            handler.handle(record)
