"""``hostapp run --live`` on the paper broker: the account file it trades on, held for
this host alone, and the run over it, resumed where the account got to.

The host drives the account's prices; ``dtms serve`` (``hostapp serve``) opens the same
file beside it to act on its trades and claims nothing (docs/architecture.md §5). Kept
out of :mod:`hostapp.runner`, which reads the command line, to keep each module short.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from hookspecs import ConfigError

from . import app as appmod
from . import event_loop
from .account_data import check_same_data, data_record, describe, write_record
from .brokers.paper_account_checks import FORMAT, NewerAccountFile, file_findings, file_format
from .brokers.paper_account_file import AccountFileFull, not_a_folder
from .claims import Claim, Held, claim, lock_beside
from .config import DEFAULT_ACCOUNT_FILE, HostConfig
from .driving import LIVE_WINDOW, Serve, bound_for_live, drive, release, run_results
from .live_gap import history_mark
from .live_interim import live_files, reporting_as_it_goes
from .made_files import MadeFiles
from .open_symbols import keep_open_symbols_fed, unplayed_note
from .outcomes import Outcome
from .progress import ProgressBar

#: A paper live run stopped by its account file (:class:`~hostapp.brokers.
#: paper_account_file.AccountFileFull`): said in one line, in the log too, its summary
#: written; the exit code then (docs/architecture.md §5).
EXIT_ACCOUNT_FILE_FAILED = 1

#: How often, in wall seconds, a ``--speed`` run keeps its clock in the account file as it
#: runs (:func:`keeping_clock`); one small write, and only between two bars
KEEP_CLOCK_EVERY = 5.0


def live_account(config: HostConfig) -> HostConfig:
    """The paper account file a live run trades on: ``[host.paper] account_file``, or
    :data:`~hostapp.config.DEFAULT_ACCOUNT_FILE` when the table leaves the key out (as
    the README says). An empty one is refused, as ``hostapp serve`` refuses it: an
    account in memory dies with the process, so a restart would begin a fresh account
    while the plugins' state (DTMS's store) keeps the old one's trades and vetoes every
    new order for them."""
    paper = config.host.paper
    if "account_file" not in paper:
        return appmod.with_host(config, paper={**paper, "account_file": DEFAULT_ACCOUNT_FILE})
    if not str(paper["account_file"]).strip():
        raise ConfigError(
            f"{config.source} [host.paper]: key 'account_file' is required for a live run "
            f"with the paper broker, got {paper['account_file']!r} (the account must outlive "
            "the process: in memory, a restart would begin a fresh account while the "
            f"plugins' state keeps the old one's trades; leave the key out for "
            f"{DEFAULT_ACCOUNT_FILE})"
        )
    return config


def claim_account(config: HostConfig) -> Claim:
    """Hold the account file for this host (:mod:`hostapp.claims`): one process drives
    its prices. A second host on it would quote it from its own clock and settle the
    first one's trades at its own prices (closes before their opens, at prices of a day
    before); it is refused in one line naming the key and the host that holds it.
    ``dtms serve`` opens the file beside the host and claims nothing."""
    account = config.host.paper["account_file"]
    where = f"{config.source} [host.paper] account_file {account}"
    try:
        not_a_folder(account)
        Path(account).parent.mkdir(parents=True, exist_ok=True)
        return claim(lock_beside(account))
    except Held as busy:
        raise ConfigError(
            f"{where}: another host trades on it ({busy.holder}); two hosts on one account "
            "would each quote it from their own clock and close each other's trades (stop "
            "that one, or give this one an account_file of its own)"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{config.source} [host.paper] key 'account_file' ({account}): {exc}"
        ) from None


def paper_live(
    config: HostConfig,
    series: Mapping[str, Iterable[Any]],
    base: str,
    serve: Serve | None,
    extra: Mapping[str, Any],
    speed: float | None = None,
    report: Path | None = None,
) -> tuple[dict[str, Any], Sequence[Outcome], str | None]:
    """``hostapp run --live`` on paper: the synthetic feed on the shared account file,
    with the configured DTMS state. Without ``speed``, one bar every ``cycle_seconds``
    of the wall clock; with it, the data's own time ``speed`` times faster than the wall
    clock (a bar when the clock reaches its close, a cycle every ``cycle_seconds`` of it).
    An account file traded before (a restart) resumes the data where it stopped, on the
    data it was traded on only (:mod:`hostapp.account_data`), and the symbols it has
    positions open on stay fed (:mod:`hostapp.open_symbols`). Returns
    the run's summary and its trades, for the command to print and write, and the line
    that stopped the run when the account file could not be written (a full disk: the
    run stops there, its summary is of the run up to it), else None."""
    from .brokers.paper_account_reads import last_activity

    account = config.host.paper.get("account_file")
    if isinstance(account, str) and (found := file_format(account) or 0) > FORMAT:
        raise ConfigError(
            f"{config.source} [host.paper] key 'account_file' ({account}): "
            f"{NewerAccountFile(account, found)}"
        )  # before its rows are read for where to resume: a newer format may mean others
    since = last_activity(account) if isinstance(account, str) else None
    seed = int(extra.get("seed") or 0)
    record = data_record(config, series, base, seed)
    if since is not None and isinstance(account, str):
        where = f"{config.source} [host.paper] account_file {account}"
        appmod.check_resumable(series, since, where)  # first: a --days too short says so
        record, unrecorded = check_same_data(account, config, series, base, seed, since)
        print(
            f"hostapp: {where} was last traded at {since:%Y-%m-%d %H:%M} UTC: the run resumes "
            "the data from there (delete the file for a fresh account)",
            file=sys.stderr,
        )
        if unrecorded:
            print(
                f"hostapp: {where} does not say which data it was traded on (an older "
                f"version's): it resumes on {describe(record)}, which it now records; a "
                "restart on other data will be refused",
                file=sys.stderr,
            )
    untraded: frozenset[str] = frozenset()
    if isinstance(account, str):
        days = extra.get("days") or appmod.DEFAULT_DAYS
        series, untraded = keep_open_symbols_fed(
            config, account, series, base=base, seed=seed, days=days
        )
        if since is not None:
            unplayed_note(account, series, since)
    app = _build(config, series, base, speed, since)
    if isinstance(account, str):
        settings = getattr(app.broker, "settings", None)  # the paper broker's
        balance = float(getattr(settings, "balance", 0.0))
        said = file_findings(account, balance) if balance else []
        for line in said:  # the log has them from the broker's store (paper_account_file)
            print(f"hostapp: {line}", file=sys.stderr)
        extra = {**extra, "host_notes": [*extra.get("host_notes", ()), *said]}
        try:
            write_record(account, record)  # after the broker made the file's tables
        except sqlite3.Error as exc:  # a full disk: refused as one that cannot be opened
            release(app)
            raise ConfigError(
                f"{config.source} [host.paper] key 'account_file' ({account}): {exc}"
            ) from None
        mark = history_mark(account)  # before this run trades: the next start reads it
        if mark is not None:
            extra = {**extra, "account_history_mark": mark}
    app.loop.untraded = untraded
    bound_for_live(app)
    extra = {**extra, "recent_window": LIVE_WINDOW}
    if speed is not None:
        extra["speed"] = speed
    pace = config.host.cycle_seconds
    if speed is not None:
        serve = keeping_clock(serve)
    if report is not None:  # kept current: a killed run leaves its trades (hostapp.live_interim)
        serve = reporting_as_it_goes(serve, report, extra)
    stopped: str | None = None
    try:
        stats = event_loop.run(
            drive(app, progress=ProgressBar("run"), pace_seconds=pace, serve=serve)
        )
        keep_clock(app)
    except AccountFileFull as exc:  # the loop stopped at the write that failed
        stats, stopped = app.loop.stats, f"the run stopped: {exc}"
        logging.getLogger("hostapp").error("%s", stopped)
        extra = {**extra, "host_notes": [*extra.get("host_notes", ()), stopped]}
    summary, trades = run_results(app, stats, extra)
    release(app)
    return summary, trades, stopped


def _build(
    config: HostConfig,
    series: Mapping[str, Iterable[Any]],
    base: str,
    speed: float | None,
    since: Any,
) -> appmod.App:
    """The live paper host over the account file. A start refused while it is built (a
    plugin's ``configure``: DTMS's state_dir a file) leaves no account file behind that
    this start created: the broker opens the file before the plugins check their
    settings, and a refused start must not make an account (the next one would take
    its balance). A file that was there before is never removed."""
    account = config.host.paper.get("account_file")
    made = MadeFiles(account)
    try:
        try:
            return appmod.build_sim_app(
                config, series, base_timeframe=base, shared_account=True, speed=speed,
                resume_from=since,
            )  # fmt: skip
        except (sqlite3.Error, OSError) as exc:  # the account file cannot be opened
            raise ConfigError(
                f"{config.source} [host.paper] key 'account_file' ({account}): {exc}"
            ) from None
    except ConfigError as exc:
        exc.__traceback__ = None  # its frames hold the half-built broker's connection
        made.remove()
        raise


def keep_clock(app: appmod.App) -> None:
    """Write where the run's clock got to into the account file, when it stopped between
    two bars, for a restart to resume there (:func:`~hostapp.brokers.paper_account_reads.
    last_activity`). A ``--speed`` run stopped during a weekend's gap has no quote newer
    than Friday's last bar: resumed from that, every restart would wait the whole gap
    again, and one restarted more often than the gap lasts would never reach Monday.

    Only a time before the data's next bar: the clock runs on while the plugins shut
    down, and a restart skips every bar up to where it resumes (they are history), so a
    bar the loop had not played yet must stay after it, or its stops and targets would
    never be checked."""
    from .brokers.paper import PaperBroker

    feed, broker = app.feed, app.broker
    if feed is None or feed.now is None or not isinstance(broker, PaperBroker):
        return
    played, now = feed.now, app.clock.now()
    upcoming = next((t for t in feed.steps() if t > played), None)
    if upcoming is not None and played < now < upcoming:
        broker.keep_clock(now)


def keeping_clock(serve: Serve | None, every: float = KEEP_CLOCK_EVERY) -> Serve:
    """``serve`` (``--serve``, or nothing) with the run's clock kept every ``every`` wall
    seconds while the run goes (:func:`keep_clock`), not only at a clean stop: a host
    killed in a weekend's gap (SIGKILL, a power cut) resumed at Friday's last bar and
    waited the whole gap again (README: it resumes where the clock was, also after a
    crash). Entered where ``drive`` enters ``--serve``: the run has started."""

    @asynccontextmanager
    async def kept(app: appmod.App) -> AsyncIterator[Any]:
        task = asyncio.create_task(_keep_clock_every(app, every))
        try:
            if serve is None:
                yield None
            else:
                async with serve(app) as served:
                    yield served
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return kept


async def _keep_clock_every(app: appmod.App, every: float) -> None:
    """:func:`keep_clock` every ``every`` seconds until cancelled. A failure is skipped:
    a full disk stops the run at the loop's next write, and no other error of a write
    that only saves a restart some waiting may end the task, whose ``await`` at the end
    of the run would raise it in place of the run's own result."""
    while True:
        await asyncio.sleep(every)
        try:
            keep_clock(app)
        except Exception as exc:
            logging.getLogger(__name__).debug("keeping the run's clock failed: %r", exc)


def live_report(report: Path, summary: Mapping[str, Any], trades: Sequence[Outcome]) -> list[str]:
    """A live run's summary (no charts: no replayed series), printed, then written to the
    report folder with its ``trades.csv`` (the trades of the recent window its figures
    cover): a full disk after days of trading loses none of it from the terminal. The
    lines to say of what cannot be written."""
    from .report import summary_table

    print(summary_table(summary))
    problems = live_files(report, summary, trades)
    if not problems:  # both written, as a run's last line names its files
        print(f"\nreport: {report / 'summary.json'} and trades.csv in {report}/")
    return problems
