"""One run of an A/B comparison or a sweep: what the runs share (:class:`Replay`), one run
as a worker process gets it (:class:`RunSpec`), and how it is carried out
(:func:`one_run`, :func:`execute`).

Apart from the comparison (:mod:`hostapp.ab`: which runs, their checks, their report)
because this is all a run needs, wherever it runs: :class:`hostapp.parallel.Runs` hands
:func:`execute` and a :class:`RunSpec` to a worker process (``--jobs``), the sweeps of
:mod:`hostapp.sweep` run their combinations through it, and ``hostapp run`` its own run.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import Bar, OrderRequest

from . import app as appmod
from . import event_loop
from .compare import RunResult
from .config import HostConfig, with_settings
from .defence_rows import with_defence
from .driving import _fresh_state, closed_positions, drive, release, run_summary
from .logs import RUN
from .market.csvsplits import SplitTimes
from .outcomes import outcomes
from .progress import Progress, ProgressBar
from .run_notes import traded_notes


@dataclass(frozen=True)
class Replay:
    """What every run of a comparison shares: the configuration, the bars (``base``
    their timeframe, ``timeframe`` the host's), the report folder and the summary's
    extra fields."""

    config: HostConfig
    series: Mapping[str, Sequence[Bar]]
    base: str
    timeframe: str
    report: Path
    extra: Mapping[str, Any]
    progress: bool = True  # progress on stderr (one display for a comparison's runs)
    #: trade from this time on: the bars before it are the plugins' history, as a live
    #: run's past is (the held-out part of ``--split``, whose indicators warm up on the
    #: part before it instead of starting cold)
    trade_from: datetime | None = None
    #: the splits in the files' unadjusted prices, by symbol: a stop filled across one
    #: is named so in the run's notes, not called a market's gap
    splits: SplitTimes = dataclasses.field(default_factory=dict)
    #: the files whose own bars are ``base`` (:class:`hookspecs.BarSources`)
    base_sources: tuple[str, ...] = ()


def one_run(
    replay: Replay,
    label: str,
    *,
    without: Sequence[str] = (),
    with_: Sequence[str] = (),
    entries: Mapping[tuple[datetime, str], Sequence[OrderRequest]] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """One replay, with the plugins ``without`` disabled, those in ``with_`` running, and
    ``entries`` (when given) opened instead of the strategies' orders; each run in its
    own state folder. Progress goes to ``progress``, else to a bar of its own when the
    replay shows progress."""
    state = _state_folder(label)
    cfg = _fresh_state(replay.config, replay.report, state)
    cfg = dataclasses.replace(cfg, run_name=label, own_run=label in OWN_RUNS)
    for name in without:
        cfg = appmod.without_plugin(cfg, name)
    for name in with_:
        cfg = appmod.with_plugin(cfg, name)
    started = time.perf_counter()
    app = appmod.build_sim_app(
        cfg,
        replay.series,
        base_timeframe=replay.base,
        timeframe=replay.timeframe,
        entries=entries,
        resume_from=replay.trade_from,
        base_sources=replay.base_sources,
    )
    if progress is None and replay.progress:
        progress = ProgressBar(label.replace("_", " "))
    stats = event_loop.run(drive(app, progress=progress))
    closed = closed_positions(app, stats)
    still_open = app.broker.positions()
    quotes = {s: q for s in {t.symbol for t in still_open} if (q := app.broker.quote(s))}
    trades = with_defence(
        outcomes(stats.entries, stats.closes, closed, still_open, quotes), app.recorder
    )
    seconds = round(time.perf_counter() - started, 2)
    # the data's notes on the bars this run trades (a held-out part's, not the whole file's)
    said = traded_notes(replay.series, replay.base, replay.trade_from)
    extra = {**replay.extra, "run": label, "seconds": seconds}
    extra["host_notes"] = [*replay.extra.get("host_notes", ()), *said]
    summary = run_summary(app, stats, extra, trades, replay.splits)
    release(app)
    return RunResult(
        label=label,
        stats=stats,
        closed=closed,
        trades=trades,
        summary=summary,
        start_balance=app.start_balance,
        start=replay.trade_from or min(b[0].time for b in replay.series.values() if b),
        # what the charts read; plain lists, so a run may come back from a worker process
        recorder=app.recorder,
        until=app.clock.now(),
    )


#: The runs that are their command's own (``hookspecs.RunView.own_run``): a run's or a
#: replay's, and an A/B's full run (which ``hostapp run`` takes from its own). A sweep's
#: runs are labelled as the A/B's baseline and same-entries runs are.
OWN_RUNS = frozenset({"run", "full"})


def _state_folder(label: str) -> str:
    return "state" if label == "run" else f"state-{label}"


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison or a sweep, as a worker process gets it (see
    :func:`one_run` for the fields it shares)."""

    label: str
    without: tuple[str, ...] = ()
    with_: tuple[str, ...] = ()
    entries: Mapping[tuple[datetime, str], Sequence[OrderRequest]] | None = None
    #: plugin settings changed for this run: ``("NAME.KEY", value)`` (a sweep's)
    settings: tuple[tuple[str, Any], ...] = ()
    #: a folder under the replay's report for this run's state (runs of a sweep)
    folder: str = ""
    #: keep the run's state folder afterwards (a sweep's hundreds of runs do not)
    keep_state: bool = True


def execute(replay: Replay, spec: RunSpec, progress: Progress | None) -> RunResult:
    """``spec`` run on ``replay``: what :class:`hostapp.parallel.Runs` calls, here or in
    a worker."""
    config = with_settings(replay.config, spec.settings) if spec.settings else replay.config
    report = replay.report / spec.folder if spec.folder else replay.report
    replay = dataclasses.replace(replay, config=config, report=report, progress=False)
    # its log lines name it: the runs replay the same bars, and say the same things
    named = RUN.set(f"{spec.folder}/{spec.label}" if spec.folder else spec.label)
    try:
        run = one_run(
            replay,
            spec.label,
            without=spec.without,
            with_=spec.with_,
            entries=spec.entries,
            progress=progress,
        )
    finally:
        RUN.reset(named)
    if not spec.keep_state:
        shutil.rmtree(report if spec.folder else report / _state_folder(spec.label), True)
    return run
