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

import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hookspecs import BrokerError

from . import app as appmod
from .driving import LOG_NAME, Serve
from .live_interim import said_unfinished
from .logs import ReportLog
from .report_files import LIVE_KEPT, clear_report, keep_live_summary, keep_previous

log = logging.getLogger("hostapp")


def at_start(serve: Serve | None, begin: Callable[[appmod.App], None]) -> Serve:
    """``serve`` (``--serve``, or nothing) entered after ``begin(app)``, once the run
    starts."""

    @asynccontextmanager
    async def started(app: appmod.App) -> AsyncIterator[Any]:
        begin(app)
        if serve is None:
            yield None
            return
        async with serve(app) as served:
            yield served

    return started


def begin_live(report: Path, log: ReportLog | None, app: appmod.App | None = None) -> None:
    """The live run starts: the run before's summary and trades are kept beside the new
    ones, an earlier command's files cleared (a file that cannot be is a ConfigError),
    and its log moves to ``hostapp.log.1`` for this run's (:data:`LIVE_KEPT` of each).
    A run before that did not stop cleanly left an interim report: that is said; so are
    the plugins that defended its positions and do not run now (:func:`said_defenders_gone`)."""
    before = defenders_before(report)
    account = app.config.host.paper.get("account_file") if app is not None else None
    broker = app.config.host.broker if app is not None else None
    said_unfinished(report, account if broker == "paper" and isinstance(account, str) else None)
    keep_live_summary(report)
    clear_report(report)
    if log is not None:
        log.begin(lambda: keep_previous(report / LOG_NAME, LIVE_KEPT))
    if app is not None:
        said_defenders_gone(app, before)


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


def defenders_before(report: Path) -> list[str]:
    """The plugins that answered ``is_defensive`` in the live run whose summary is in
    ``report`` (none when there is no such summary)."""
    try:
        earlier = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(earlier, dict) or "recent_window" not in earlier:  # not a live run's
        return []
    named = earlier.get("defenders")
    return [str(n) for n in named] if isinstance(named, list) else []


def said_defenders_gone(app: appmod.App, before: list[str]) -> None:
    """A plugin that defended the run before's positions and is not running now (disabled
    in plugins.toml, uninstalled, or refused to start) leaves the positions still open
    undefended: said at start-up, on the terminal and in the log, with their count. Not
    said when none is open: there is nothing it would have defended."""
    running = set(app.plugins.implementers("is_defensive"))
    gone = [name for name in before if name not in running]
    if not gone:
        return
    try:
        held = len(app.broker.positions())
    except BrokerError:
        return  # the loop's first cycle says the broker's failure
    if not held:
        return
    names = " and ".join(gone)
    line = (
        f"{names} defended this account's positions in the run before and "
        f"{'does' if len(gone) == 1 else 'do'} not run now (disabled, not installed or "
        f"refused to start): {held} open position{'s' if held != 1 else ''} on the account "
        f"{'are' if held != 1 else 'is'} not defended by {'it' if len(gone) == 1 else 'them'}"
    )
    log.warning("%s", line)
    print(f"hostapp: {line}", file=sys.stderr)
