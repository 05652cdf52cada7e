"""Driving one built host through a run: startup, the loop, shutdown, and the summary.

Shared by ``hostapp run``/``replay`` (:mod:`hostapp.runner`) and the A/B comparison
(:mod:`hostapp.ab`), which runs it several times; a module of its own so that neither of
those imports the other's command code.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, runtime_checkable

from hookspecs import Broker, ConfigError, SimBroker, Trade

from . import app as appmod
from .clock import ScaledClock
from .config import HostConfig
from .defence_rows import with_defence
from .errors import AccountChanged
from .isolation import REFUSED_AT_START
from .loop import LIVE_WINDOW, LoopStats
from .loop_drivers import BROKER_DOWN, Reconnecting
from .market.csvsplits import SplitTimes
from .outcomes import Outcome, outcomes
from .progress import Progress
from .ran_dry import ran_dry
from .report import POSITION_HOOK, summarize
from .stop_signals import STOP_SIGNALS, Aborted
from .summary_notes import host_notes

LOG_NAME = "hostapp.log"
EXIT_INTERRUPTED = 130
#: a command whose results were printed, but whose report folder misses a file it could
#: not write (a full disk): said in a line naming the file
EXIT_UNWRITTEN = 1


def say_unwritten(problems: Sequence[str], code: int) -> int:
    """Each of ``problems`` (what the report could not write) as a line on stderr, after
    the results; the exit code is then :data:`EXIT_UNWRITTEN`, unless ``code`` already
    says the run was interrupted."""
    for line in problems:
        print(f"hostapp: {line}", file=sys.stderr)
    return EXIT_UNWRITTEN if problems and code != EXIT_INTERRUPTED else code


class _StopOnSignal:
    """SIGINT/SIGTERM → ask the loop to stop; a second SIGINT aborts at once."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop = stop
        self.count = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1 and signum == signal.SIGINT:
            raise Aborted
        if multiprocessing.parent_process() is None:  # a worker's parent says it, once
            name = signal.Signals(signum).name
            print(f"\nhostapp: {name}, stopping after this cycle", file=sys.stderr)
        self.stop()

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


#: What ``drive`` runs around the loop, once the plugins have started: ``serve(app)``.
Serve = Callable[[appmod.App], AbstractAsyncContextManager[Any]]


async def drive(
    app: appmod.App,
    *,
    progress: Progress | None,
    pace_seconds: float = 0.0,
    serve: Serve | None = None,
) -> LoopStats:
    """startup → the loop until the data ends or a signal → shutdown (always).

    ``serve`` (``--serve``) is entered after startup and left before shutdown, also when
    the loop fails or is interrupted."""
    plugins, host, loop = app.plugins, app.host, app.loop
    with _StopOnSignal(loop.request_stop):
        around = AsyncExitStack()
        # a plugin's own KeyboardInterrupt asks for the stop Ctrl-C asks for (hostapp.isolation)
        plugins.on_interrupt = loop.request_stop
        try:
            await plugins.startup(host)
            _refuse_broken_start(app)
            if serve is not None:
                await around.enter_async_context(serve(app))
            if app.feed is not None and isinstance(app.clock, ScaledClock):
                stats = await loop.run_scaled(
                    app.feed,
                    app.clock,
                    cycle_seconds=app.config.host.cycle_seconds,
                    progress=progress,
                )
            elif app.feed is not None:
                stats = await loop.run_replay(
                    app.feed, progress=progress, pace_seconds=pace_seconds
                )
            else:
                stats = await loop.run_live(
                    cycle_seconds=app.config.host.cycle_seconds,
                    bar_source=_newest_bar(app),
                    now_fn=app.clock.now,
                )
            app.plugin_reports = plugins.run_report(host)
        finally:
            if progress is not None:
                progress.finish()
            loop.end_run()  # the vetoes and refusals since their first line, the closes unconfirmed
            try:
                await around.aclose()
            finally:
                try:
                    await plugins.shutdown(host)
                finally:
                    plugins.on_interrupt = None
    return stats


# A plugin's startup that failed for its files or configuration (a state folder that is a
# file, no permission, a full disk; registry.REFUSED_AT_START) will not recover by itself,
# so running on would only have it veto every order (docs/architecture.md §4, fail-safe
# values): the run stops instead.


def _refuse_broken_start(app: appmod.App) -> None:
    """A ConfigError (exit 2, one line naming file and table) when a plugin's ``startup``
    failed for a file-system or configuration reason."""
    for info in app.plugins.listing():
        why = (info.error or "").removeprefix("startup: ")
        if info.failed_in == "startup" and why.split(":", 1)[0] in REFUSED_AT_START:
            table = f"[plugin.{info.name}]"
            if why.startswith("ConfigError: "):  # its message names its table: once is enough
                why = why.removeprefix("ConfigError: ").removeprefix(f"{table}: ")
                why = why.removeprefix(f"{table} ")
            raise ConfigError(f"{app.config.source} {table}: cannot start: {why}")


def bound_for_live(app: appmod.App) -> None:
    """Keep a live run's report figures in a window (:data:`LIVE_WINDOW`); a replay keeps
    every trade, which its charts and A/B need."""
    app.loop.stats.bound(LIVE_WINDOW)
    app.recorder.bound(LIVE_WINDOW)


@runtime_checkable
class Releasable(Protocol):
    """A broker holding a resource the report must let go of (the paper account file)."""

    def release(self) -> None: ...


def release(app: appmod.App) -> None:
    """Let go of the paper account file, if any, once the report has read the account."""
    if isinstance(app.broker, Releasable):
        app.broker.release()


def _newest_bar(app: appmod.App) -> Callable[[str], Any]:
    def newest(symbol: str) -> Any:
        bars = app.market.bars(symbol, app.timeframe, 1)
        return bars[-1] if bars else None

    return newest


def closed_positions(
    app: appmod.App, stats: LoopStats, known: dict[int, list[Any]] | None = None
) -> list[Any]:
    """Every position the run closed, with its realised profit: the broker's record, or
    the loop's when the broker keeps none. A broker that gives a position's closing deals
    one by one (MetaTrader: ``closing_parts``) has each counted as the paper broker books
    a partial close, so a trade's R is all its parts' and not its last part's move.
    ``known``: the parts already read whole, by ticket, kept there (a closed position's
    never change): the live report rewritten every minute asked the terminal's history
    once per close of its window each time (:mod:`hostapp.live_interim`)."""
    if isinstance(app.broker, SimBroker):
        before = app.closed_before  # a resumed account's history is not this run's
        return [t for t in app.broker.closed_trades() if t.ticket not in before]
    split = getattr(app.broker, "closing_parts", None)
    closed: list[Any] = []
    for _, trade, _ in stats.closes:
        parts = known.get(trade.ticket) if known is not None else None
        if parts is None:
            parts = (split(trade.ticket) if split is not None else None) or []
        whole = parts and abs(sum(p.profit for p in parts) - trade.profit) < 0.01
        if whole and known is not None:
            known[trade.ticket] = parts
        closed.extend(parts if whole else [trade])
    return closed


def run_summary(
    app: appmod.App,
    stats: LoopStats,
    extra: Mapping[str, Any],
    trades: Sequence[Outcome] | None = None,
    splits: SplitTimes | None = None,
) -> dict[str, Any]:
    """The run's summary: ``extra``'s fields, the figures and the host's notes;
    ``splits``: the splits in the data's unadjusted prices, for the note on stops filled
    past their price to name one where it did so."""
    return run_results(app, stats, extra, trades, splits)[0]


def run_results(
    app: appmod.App,
    stats: LoopStats,
    extra: Mapping[str, Any],
    trades: Sequence[Outcome] | None = None,
    splits: SplitTimes | None = None,
    *,
    interim: bool = False,
    known: dict[int, list[Any]] | None = None,
) -> tuple[dict[str, Any], Sequence[Outcome]]:
    """:func:`run_summary` and the trades its figures are of (``trades``, or the run's
    own when ``None``: a live run's, for its ``trades.csv``). ``interim``: a live run's
    report while it goes (:mod:`hostapp.live_interim`): a broker that cannot answer
    raises (no reconnect: the loop's job), and the host's notes are left to the final
    report (some end an episode when read); ``known``: :func:`closed_positions`'."""
    open_positions: list[Trade] | None
    balance: float | None
    broker_note: str | None = None
    if interim:
        open_positions, balance = read_end(app.broker)
    else:
        open_positions, balance, broker_note = _at_end(app.broker, stats)
    closed = closed_positions(app, stats, known)
    if trades is None:
        trades = outcomes(stats.entries, stats.closes, closed, open_positions or [])
        if open_positions is None:  # the broker did not say: unknown, as the summary's
            trades = [dataclasses.replace(t, floating=None) for t in trades]
        trades = with_defence(trades, app.recorder)
    listed = {p.ticket for p in open_positions or ()}
    tripped = app.plugins.tripped()
    notes = (
        list(extra.get("host_notes", ()))
        if interim
        else host_notes(app, stats, extra, trades, splits, broker_note, listed, tripped)
    )
    # a plugin switched off is called no more, its run_report neither: its report says why
    # (one a live run's breaker switched back on answers its own)
    reports = {
        t["plugin"]: {"error": f"switched off: {t['why']}"}
        for t in tripped
        if not (t.get("back_on") or t.get("on_trial"))
    }
    summary = summarize(
        stats=stats,
        recorder=app.recorder,
        closed=closed,
        open_positions=open_positions,
        trades=trades,
        start_balance=app.start_balance,
        balance=balance,
        extra={
            **extra,
            # the plugins that may put a trade in a defensive state (answer is_defensive)
            "defenders": app.plugins.implementers("is_defensive"),
            "position_managers": app.plugins.implementers(POSITION_HOOK),
            "plugins": appmod.plugin_names(app.plugins),
            "symbols": list(app.loop.symbols),
            "currency": app.currency,
            "timeframe": app.timeframe,
            "base_timeframe": app.base_timeframe,
            "plugin_reports": {**reports, **app.plugin_reports},
            "tripped": tripped,
            "ran_dry": ran_dry(stats, app.broker),
            "host_notes": notes,
        },
    )
    return summary, trades


#: what the summary leaves out when the broker cannot say at the end (docs/mt5.md)
_UNKNOWN = (
    "this summary has neither the open positions nor the balance of the account the run "
    "traded: the trades and positions open at the end and the P&L read unknown"
)


def _at_end(
    broker: Broker, stats: LoopStats
) -> tuple[list[Trade] | None, float | None, str | None]:
    """The positions open at the end and the balance, with a note when they cannot be
    known: a run stopped because the terminal went over to another account reads
    nothing of it (its balance is no P&L of this run); a live terminal that does not
    answer is asked to reconnect once (it may be back since the loop's last try, which
    backs off for up to two minutes) before the summary gives up on them."""
    if stats.account_changed:
        return None, None, f"the run stopped: {stats.account_changed}; {_UNKNOWN}"
    try:
        try:
            return (*read_end(broker), None)
        except BROKER_DOWN as exc:
            if not isinstance(broker, Reconnecting):
                raise
            first = exc  # the failure that says why, whatever the reconnect says
        try:
            broker.reconnect()
            return (*read_end(broker), None)
        except BROKER_DOWN:
            raise first from None
    except AccountChanged as exc:
        stats.account_changed = str(exc)
        return None, None, f"at the end, {exc}; {_UNKNOWN}"
    except BROKER_DOWN as exc:
        return None, None, f"the broker did not answer at the end ({exc}): {_UNKNOWN}"


def read_end(broker: Broker) -> tuple[list[Trade], float]:
    """The open positions and the balance, of the account the run started on only (a
    live broker's ``identity``, :class:`~hookspecs.AccountInfo`'s when it connected)."""
    account = broker.account()
    started = getattr(broker, "identity", "")
    if isinstance(started, str) and started and account.identity != started:
        raise AccountChanged(started, account.identity)
    return broker.positions(), account.balance


def _fresh_state(config: HostConfig, report: Path, name: str) -> HostConfig:
    """Every plugin's state under an empty ``<report>/<name>`` (``host.data_dir``)."""
    state = report / name
    shutil.rmtree(state, ignore_errors=True)
    return appmod.with_data_root(config, state)
