"""A live run's report kept current while the run goes, not only written when it stops.

A live host's summary and ``trades.csv`` were written once, at a clean stop: a host
SIGKILLed by its service manager, the OOM killer or a power cut left no report of the
trades it had closed, and the next start kept the report of the run before that one as
``summary.json.1``. So while a live run goes, its report is rewritten (whole, never
half: :func:`hostapp.report_files.write_whole`) at its start, then every
:data:`LOOK_EVERY` seconds when a trade opened or closed since the last one, and at
least every :data:`WRITE_EVERY` seconds. Such a report says it is one (``interim_at``,
and a note); the run's final report replaces it at a clean stop, and the next start
keeps it, whichever it is, and says when the one it keeps is an interim one
(:func:`said_unfinished`).

Only the figures and the trades are rewritten (:func:`hostapp.driving.run_results`'s
``interim``), with the note on the positions open at the start that closed meanwhile
(their result is in the P&L) and their tickets (``carried_closed``,
:mod:`hostapp.live_gap`): the host's other notes, some of which end an episode when they
are read (slow plugin calls, for one), are left to the final report.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import app as appmod
from .driving import Serve, run_results
from .errors import AccountChanged
from .live_gap import gap_line, unreported_closes
from .loop_drivers import BROKER_DOWN
from .loop_stats import appended
from .outcomes import Outcome
from .report_files import saved_csv, saved_json
from .run_notes import carried_note
from .trade_rows import TRADE_COLUMNS, trade_rows

#: how often (wall seconds) the run looks whether a trade opened or closed since the report
LOOK_EVERY = 5.0
#: the longest (wall seconds) a live report goes unwritten: its balance and floating profit
WRITE_EVERY = 60.0

log = logging.getLogger("hostapp")


def reporting_as_it_goes(
    serve: Serve | None, report: Path, extra: Mapping[str, Any], every: float = LOOK_EVERY
) -> Serve:
    """``serve`` (``--serve``, the run's start, or nothing) with the live report kept
    current while the run goes (module docstring). The writer starts once ``serve`` is
    entered: the run has started, and the run before's report has been moved aside."""

    @asynccontextmanager
    async def reporting(app: appmod.App) -> AsyncIterator[Any]:
        async with _entered(serve, app) as served:
            task = asyncio.create_task(_keep_writing(app, report, extra, every))
            try:
                yield served
            finally:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    return reporting


@asynccontextmanager
async def _entered(serve: Serve | None, app: appmod.App) -> AsyncIterator[Any]:
    if serve is None:
        yield None
        return
    async with serve(app) as served:
        yield served


async def _keep_writing(
    app: appmod.App, report: Path, extra: Mapping[str, Any], every: float
) -> None:
    """:func:`write_interim` whenever a trade opened or closed, or :data:`WRITE_EVERY`
    seconds went by, looking every ``every`` seconds until cancelled. A failure is logged
    once (a WARNING) and the writer goes on: the run's final report says its own."""
    written: tuple[int, int, int] | None = None
    known: dict[int, list[Any]] = {}  # closing parts read whole, by ticket: read once
    last = 0.0
    failed = False
    clock = asyncio.get_running_loop().time
    while True:  # the first at once: a run killed in its first seconds leaves one too
        stats = app.loop.stats
        seen = (appended(stats.entries), appended(stats.closes), stats.carried_closes)
        if seen != written or clock() - last >= WRITE_EVERY:
            try:
                problems = write_interim(app, report, extra, known)
            except Exception as exc:  # a report must never end the run it reports on
                problems = [repr(exc)]
            if problems and not failed:
                log.warning("the live report could not be kept current: %s", "; ".join(problems))
            failed = bool(problems)
            if not problems:
                written, last = seen, clock()
        await asyncio.sleep(every)


def write_interim(
    app: appmod.App,
    report: Path,
    extra: Mapping[str, Any],
    known: dict[int, list[Any]] | None = None,
) -> list[str]:
    """The run's summary and ``trades.csv`` so far, written to ``report``; the lines
    saying what could not be (the broker not answering is one: nothing is written).
    ``known``: the closing parts already read (:func:`~hostapp.driving.closed_positions`),
    so a terminal's history is asked once per closed position, not at every write."""
    at = datetime.now(UTC).replace(microsecond=0)
    note = (
        f"an interim report, written at {at:%Y-%m-%d %H:%M:%S} UTC while the run went on: "
        "the run's own report replaces it when the run stops, so this one is left only by "
        "a run that did not stop cleanly (killed, a power cut); it has the figures and "
        "trades so far, not the notes the final report adds when the run stops"
    )
    stats = app.loop.stats
    carried = carried_note(stats)  # in its P&L: said, as the final report says it
    said = {
        **extra,
        "interim_at": at.isoformat(),
        "host_notes": [*extra.get("host_notes", ()), note, *([carried] if carried else [])],
        # no row of trades.csv has them: the next start must not name them as unreported
        "carried_closed": sorted(stats.carried_tickets),
    }
    try:
        summary, trades = run_results(app, app.loop.stats, said, interim=True, known=known)
    except (AccountChanged, *BROKER_DOWN) as exc:
        return [f"the broker did not answer: {exc}"]
    return live_files(report, summary, trades)


def live_files(report: Path, summary: Mapping[str, Any], trades: Sequence[Outcome]) -> list[str]:
    """A live run's ``trades.csv`` (the trades of the window its figures cover) and its
    summary, each written whole, the summary naming the CSV when it was written: the
    interim report's and the final one's (:func:`hostapp.live_paper.live_report`). The
    lines to say of what cannot be written."""
    rows = trade_rows("", "live", trades, {})
    problems = saved_csv(report / "trades.csv", TRADE_COLUMNS, rows)
    summary = {**summary, "trades_csv": None if problems else "trades.csv"}
    return problems + saved_json(report / "summary.json", summary)


def said_unfinished(report: Path, account: str | None = None) -> None:
    """Before a live run keeps the run before's report: say so when that report is an
    interim one (that run did not stop cleanly), on the terminal and in the log, with
    the trades of the paper ``account`` that closed after it (:mod:`hostapp.live_gap`)."""
    try:
        earlier = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(earlier, dict) or not isinstance(earlier.get("interim_at"), str):
        return
    line = (
        f"the run before did not stop cleanly: its report, as of {earlier['interim_at']} "
        f"(written while it ran), is kept as {report / 'summary.json.1'} and trades.csv.1"
    )
    log.warning("%s", line)
    print(f"hostapp: {line}", file=sys.stderr)
    if account is not None:
        kept = f"{report / 'summary.json.1'}"
        gap = gap_line(unreported_closes(account, report / "trades.csv", earlier), kept)
        if gap is not None:
            log.warning("%s", gap)
            print(f"hostapp: {gap}", file=sys.stderr)
