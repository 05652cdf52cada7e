"""Driving one built host through a run: startup, the loop, shutdown, and the summary.

Shared by ``hostapp run``/``replay`` (:mod:`hostapp.runner`) and the A/B comparison
(:mod:`hostapp.ab`), which runs it several times; a module of its own so that neither of
those imports the other's command code.
"""

from __future__ import annotations

import multiprocessing
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, runtime_checkable

from hookspecs import ConfigError, SimBroker

from . import app as appmod
from .clock import ScaledClock
from .config import HostConfig
from .hookcalls import PluginInfo, switched_off_kind
from .loop import LIVE_WINDOW, LoopStats
from .loop_drivers import BROKER_DOWN
from .loop_gone import unconfirmed_note
from .outcomes import Outcome
from .progress import Progress
from .registry import REFUSED_AT_START
from .report import summarize
from .stop_signals import STOP_SIGNALS

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
            raise KeyboardInterrupt
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
                await plugins.shutdown(host)
    return stats


# A plugin's startup that failed for its files or configuration (a state folder that is a
# file, no permission, a full disk; registry.REFUSED_AT_START) will not recover by itself,
# so running on would only have it veto every order (docs/architecture.md §4, fail-safe
# values): the run stops instead.


def _refuse_broken_start(app: appmod.App) -> None:
    """A ConfigError (exit 2, one line naming file and table) when a plugin's ``startup``
    failed for a file-system or configuration reason."""
    for info in app.plugins.listing():
        error = info.error or ""
        if error.startswith("startup: ") and error[9:].split(":", 1)[0] in REFUSED_AT_START:
            raise ConfigError(
                f"{app.config.source} [plugin.{info.name}]: cannot start: {error[9:]}"
            )


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


def closed_positions(app: appmod.App, stats: LoopStats) -> list[Any]:
    """Every position the run closed, with its realised profit: the broker's record, or
    the loop's when the broker keeps none."""
    if isinstance(app.broker, SimBroker):
        before = app.closed_before  # a resumed account's history is not this run's
        return [t for t in app.broker.closed_trades() if t.ticket not in before]
    return [t for _, t, _ in stats.closes]


def run_summary(
    app: appmod.App,
    stats: LoopStats,
    extra: Mapping[str, Any],
    trades: Sequence[Outcome] | None = None,
) -> dict[str, Any]:
    broker_note = None
    try:
        open_positions, balance = app.broker.positions(), app.broker.account().balance
    except BROKER_DOWN as exc:  # a live terminal gone at the end: summarise what is known
        open_positions, balance = [], app.start_balance
        broker_note = (
            f"the broker did not answer at the end ({exc}): this summary has neither its "
            "open positions nor its balance (P&L reads 0)"
        )
    listed = {p.ticket for p in open_positions}
    return summarize(
        stats=stats,
        recorder=app.recorder,
        closed=closed_positions(app, stats),
        open_positions=open_positions,
        trades=trades,
        start_balance=app.start_balance,
        balance=balance,
        extra={
            **extra,
            # the plugins that may put a trade in a defensive state (answer is_defensive)
            "defenders": app.plugins.implementers("is_defensive"),
            "plugins": appmod.plugin_names(app.plugins),
            "symbols": list(app.loop.symbols),
            "timeframe": app.timeframe,
            "base_timeframe": app.base_timeframe,
            "plugin_reports": app.plugin_reports,
            "host_notes": [
                n
                for n in (
                    *extra.get("host_notes", ()),  # the caller's, about its data
                    appmod.guessed_rules_note(app.broker, app.loop.symbols),
                    appmod.costs_note(app.broker, app.loop.symbols),
                    timeframe_note(
                        app.base_timeframe, app.timeframe, app.configured_timeframe or None
                    ),
                    refusals_note(stats),
                    netted_note(stats),
                    carried_note(stats),
                    unconfirmed_note(  # one listed again by now is open at the end
                        [t for t in stats.unconfirmed_at_end if t not in listed]
                    ),
                    vetoes_note(stats),
                    skipped_note(stats),
                    broker_note,
                    attention_note(app.broker),
                    *source_notes(app.broker, app.market),
                    *plugin_failure_notes(
                        app.plugins.listing(), stats, app.plugins.failed_calls.by_plugin()
                    ),
                    *app.plugins.slow.notes(),
                )
                if n
            ],
        },
    )


def timeframe_note(base: str, timeframe: str, configured: str | None = None) -> str | None:
    """When the run traded on bars built from finer ones (M1 files under the host's M5),
    which only the summary's ``timeframe`` key said, and why: ``configured`` is ``[host]
    timeframe`` (a ``timeframe`` other than it is one ``--timeframe`` asked for). Stops
    and targets are still checked on the data's own bars, so such a run is not a replay
    of the coarser bars. (A ``configured`` the data is too coarse for is said by
    :func:`hostapp.replay_files.replay_timeframes`, which knows there was no
    ``--timeframe``.)"""
    if base == timeframe:
        return None
    if configured is not None and timeframe != configured:
        why = f"as --timeframe {timeframe} asked"
    else:
        why = f"the host's timeframe, [host] timeframe; --timeframe {base} trades on the data's own"
    return (
        f"the data's {base} bars were traded as {timeframe} bars built from them ({why}); "
        f"stops and targets were still checked on every {base} bar, so the results differ "
        f"from a replay of {timeframe} bars"
    )


def refusals_note(stats: LoopStats) -> str | None:
    """The broker's refusals of the strategies' orders, by code with the first message
    of each: a run that opened no trade because every order was refused says why here,
    not only in the log."""
    if not stats.orders_rejected:
        return None
    codes = sorted(stats.refusals.items(), key=lambda item: -item[1][0])
    each = "; ".join(f"{code} {count:,} ({message})" for code, (count, message) in codes)
    return (
        f"the broker refused {stats.orders_rejected:,} of the {stats.orders_proposed:,} orders "
        f"proposed: {each}"
    )


def carried_note(stats: LoopStats) -> str | None:
    """Closes of positions already open when the run started (a restarted host's trades
    and their hedges, a resumed account's): their reasons are in the closes, but they are
    no trade of this run's counts, which said 8 closed beside 10 closes by reason. Their
    result is the broker's for the whole position, a part it closed before this run
    included, so it is said as such, not as a share of the run's P&L."""
    n = stats.carried_closes
    if not n:
        return None
    return (
        f"{n:,} position{'s' if n > 1 else ''} open when this run started closed during it "
        f"(a restarted host's trades and their hedges, or opened by hand), their result "
        f"{stats.carried_profit:+,.2f} over their whole lives (parts closed before this run "
        "included; the run's P&L has only what closed during it): in the closes by reason, "
        "not in the trades"
    )


def netted_note(stats: LoopStats) -> str | None:
    """Orders that changed a netting account's one position per symbol instead of opening
    a trade of their own: counted apart from the trades, which would otherwise have
    counted a reduction as a new entry (docs/mt5.md, "Netting accounts")."""
    if not stats.netted:
        return None
    total = sum(stats.netted.values())
    each = ", ".join(f"{effect} {count:,}" for effect, count in sorted(stats.netted.items()))
    return (
        f"{total:,} of the {stats.orders_proposed:,} orders proposed changed the symbol's "
        f"netting position ({each}); only a reversal's new side counts as a trade"
    )


def vetoes_note(stats: LoopStats) -> str | None:
    """Orders the plugins' ``allow_order`` vetoed, by kind (the most frequent first; see
    :class:`hookspecs.Veto`): a run that opened nothing because a guard said no, or failed
    closed, says so here."""
    if not stats.orders_vetoed:
        return None
    total = sum(stats.orders_vetoed.values())
    reasons = sorted(stats.orders_vetoed.items(), key=lambda item: -item[1])
    upto = len(reasons) if len(reasons) <= VETO_KINDS_SHOWN else VETO_KINDS_SHOWN - 1
    shown = "; ".join(f"{count:,} × {reason}" for reason, count in reasons[:upto])
    hidden = reasons[upto:]
    more = ""
    if hidden:
        n, orders = len(hidden), sum(count for _, count in hidden)
        more = f"; and {n} other kind{'s' if n > 1 else ''} ({orders:,} orders)"
    return f"{total:,} of the {stats.orders_proposed:,} orders proposed were vetoed: {shown}{more}"


#: The kinds of veto the summary's note names one by one; past it, the rest are counted.
VETO_KINDS_SHOWN = 6


def attention_note(broker: object) -> str | None:
    """Orders whose outcome stayed unknown (the MetaTrader broker's ``needs_attention``:
    no answer, nothing found on the server in time): they may have executed, and none
    was sent again, so only the terminal can tell. A log line each said it; the summary
    is where a trader looks after the run."""
    pending = list(getattr(broker, "needs_attention", None) or ())
    if not pending:
        return None
    shown = "; ".join(pending[:5]) + (f"; and {len(pending) - 5} more" if len(pending) > 5 else "")
    return (
        f"{len(pending)} order{'s' if len(pending) > 1 else ''} of unknown outcome to check in "
        f"the terminal's Trade and History tabs (may have executed; never sent again): {shown}"
    )


def source_notes(*sources: object) -> list[str]:
    """What a live broker or market noted of the run (``run_notes``: a symbol whose bars
    could not be read, the terminal cut off from its trade server): said once each in
    the log when it began, and here, where a trader looks after the run."""
    return [str(n) for source in sources for n in getattr(source, "run_notes", None) or ()]


def skipped_note(stats: LoopStats) -> str | None:
    """Live cycles skipped because the broker failed: positions went unwatched then."""
    if not stats.cycles_skipped:
        return None
    return (
        f"{stats.cycles_skipped} cycles were skipped because the broker failed (the last: "
        f"{stats.skip_error}); no plugin watched the positions during them"
    )


def plugin_failure_notes(
    listing: Sequence[PluginInfo],
    stats: LoopStats | None = None,
    failed: Mapping[str, Mapping[str, int]] | None = None,  # hostapp.failed_calls
) -> list[str]:
    """One sentence per plugin that failed in the run (isolated, so the run went on):
    its last error, its ``failed`` calls by hook, whether the breaker switched it off,
    then what its fail-safe answers did since (docs/architecture.md §4): a switched-off
    guard vetoes every entry, a defender holds every trade from the exit manager."""
    out = []
    for info in listing:
        if not info.error:
            continue
        off = info.status == "tripped"
        text = f"plugin {info.name} {'was switched off' if off else 'failed'}: {info.error}"
        counts = (failed or {}).get(info.name, {})
        if counts:
            text += "; failed calls: " + ", ".join(f"{n:,} of {h}" for h, n in counts.items())
        if off:
            text += "".join(f"; {effect}" for effect in _fail_safe_effects(info, stats))
        out.append(f"{text} (hostapp.log says each episode of failures)")
    return out


def _fail_safe_effects(info: PluginInfo, stats: LoopStats | None) -> list[str]:
    """What a switched-off plugin's fail-safe answers do for the rest of the run, in words."""
    effects = []
    if "allow_order" in info.hooks:
        kind = switched_off_kind(info.name, "allow_order")
        vetoed = stats.orders_vetoed.get(kind, 0) if stats is not None else 0
        effects.append(f"its allow_order now vetoes every entry: {vetoed:,} vetoed since")
    if "is_defensive" in info.hooks:
        effects.append(
            "its is_defensive answers True for every trade since, so every trade counts as "
            "defended (a position manager that asks leaves it alone)"
        )
    if "propose_orders" in info.hooks:
        effects.append("it proposes no orders since")
    return effects


def _fresh_state(config: HostConfig, report: Path, name: str) -> HostConfig:
    """Every plugin's state under an empty ``<report>/<name>`` (``host.data_dir``)."""
    state = report / name
    shutil.rmtree(state, ignore_errors=True)
    return appmod.with_data_root(config, state)
