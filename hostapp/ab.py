"""Running the replays of an A/B comparison (``hostapp replay --compare [NAME]`` and the
comparison ``hostapp run`` ends with): the run without the plugin, the run with it on the
same entries, and the run with it trading freely; then the report of
:mod:`hostapp.compare`, its charts, ``trades.csv`` and ``summary.json``.

Each run is a :class:`~hostapp.ab_runs.RunSpec` carried out by
:func:`~hostapp.ab_runs.execute` (:mod:`hostapp.ab_runs`), so that
:class:`hostapp.parallel.Runs` can hand it to a worker process (``--jobs``); the sweeps
of :mod:`hostapp.sweep` run the same way.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hookspecs import ConfigError

from . import app as appmod
from . import event_loop
from .ab_print import print_comparison
from .ab_runs import Replay, RunSpec, execute
from .chart_canvas import ChartError
from .compare import RunResult, build_report, did_nothing, entry_script, write_trades_csv
from .compare_notes import notes, warnings
from .config import HostConfig, with_settings
from .deal_rows import deal_rows, save_deals_csv
from .driving import EXIT_INTERRUPTED, LOG_NAME, say_unwritten
from .loader import switched_off_by_env
from .outcomes import Outcome
from .parallel import Runs
from .progress import RunsProgress
from .report_files import write_json
from .trade_rows import trade_rows, write_trade_rows

EXIT_DID_NOTHING = 3


def compare_runs(
    plugin: str,
    replay: Replay,
    *,
    against: str | None = None,
    full: RunResult | None = None,
    with_full: bool = True,
    jobs: int = 1,
) -> tuple[RunResult, RunResult, RunResult | None]:
    """The three runs: the baseline (without ``plugin``; with ``against`` instead when
    given), ``plugin`` on the baseline's entries, and ``plugin`` in full (``full`` when the
    caller already ran it; none when not ``with_full``). With ``jobs`` > 1 they run in
    worker processes: the full run beside the baseline, the same-entries run once the
    baseline's entries are known. Stops early when one is interrupted: stopped before the
    run with ``plugin`` began, :class:`NoComparison`; after, the runs as far as they went
    (the full run too, when it had begun beside them)."""
    check_plugins(replay.config, plugin, against)
    rival = (against,) if against else ()
    run_full = full is None and with_full
    display = RunsProgress(2 + run_full, "A/B") if replay.progress else None
    runs: Runs[RunResult]
    at_once = min(jobs, 1 + run_full)  # the same-entries run waits for the baseline's
    with Runs(execute, {"all": replay}, jobs=at_once, display=display) as runs:
        first = runs.submit("without", RunSpec("without", without=(plugin,), with_=rival))
        freely = None
        if run_full:
            freely = runs.submit("full", RunSpec("full", without=rival, with_=(plugin,)))
        without = runs.result(first)
        if without is None:  # stopped before it started
            raise KeyboardInterrupt
        if without.interrupted:
            raise NoComparison(without, plugin, against, beside=run_full and at_once > 1)
        spec = RunSpec(
            "same_entries", without=rival, with_=(plugin,), entries=entry_script(without)
        )
        same = runs.result(runs.submit("same entries", spec))
        if same is None:  # a stop came after the baseline's end: the comparison stopped
            raise NoComparison(without, plugin, against, beside=run_full and at_once > 1)
        if freely is not None:  # stopped too when same was (None: it never began)
            full = runs.result(freely)
    return without, same, full


class NoComparison(Exception):
    """The A/B stopped before its run with the plugin on the baseline's entries began (a
    Ctrl-C during the baseline, or between its end and that run): there is nothing to
    compare, and a report setting the baseline beside itself as the run "with" said the
    plugin changed nothing. ``run`` is the baseline, as far as it went (``run.interrupted``
    when it did not end): the caller reports it as the plain replay it is. ``beside``: the
    run with the plugin trading freely ran beside the baseline in a worker (``--jobs``);
    it is dropped, and the words say so."""

    def __init__(
        self, run: RunResult, plugin: str, against: str | None, *, beside: bool = False
    ) -> None:
        self.run = run
        first = f"with {against}" if against else f"without {plugin}"
        when = "during" if run.interrupted else "after"
        dropped = f" (its run with {plugin} trading freely, beside the first, is dropped)"
        super().__init__(
            f"the A/B stopped {when} its first run ({first}), before its run with {plugin} "
            f"on the same entries: no comparison{dropped if beside else ''}"
        )


def check_plugins(config: HostConfig, plugin: str, against: str | None) -> None:
    """A ConfigError naming the option when ``--compare`` or ``--against`` names no
    plugin."""
    for name, option in ((plugin, "--compare"), (against, "--against")):
        if name is not None and not plugin_exists(config, name):
            raise ConfigError(
                f"{option} {name}: no plugin named {name!r} "
                f"(see `hostapp plugins`; disabled in {config.source}?)"
            )


def preflight(
    plugin: str, against: str | None, replay: Replay, setting: Sequence[tuple[str, Any]] = ()
) -> list[str]:
    """Build, on three bars, the host of the comparison's run with ``plugin`` (and
    ``setting``, ``NAME.KEY``/value pairs written into its configuration) and shut it
    down: a configuration the plugins refuse (their own ``configure`` and start-up
    decide) is a ConfigError now, in one line, before any run starts. Returns the names
    of the plugins that run there."""
    check_plugins(replay.config, plugin, against)  # the option named, not a config key
    scratch = replay.report / "check-state"
    config = appmod.with_data_root(replay.config, scratch)
    hosts = {plugin: appmod.with_plugin(config, plugin)}  # the run with it: the rival off
    if against:
        hosts[plugin] = appmod.without_plugin(hosts[plugin], against)
        if against in {key.partition(".")[0] for key, _ in setting}:  # reaches the baseline
            hosts[against] = appmod.with_plugin(appmod.without_plugin(config, plugin), against)
    running: list[str] = []
    try:
        for name, host_config in hosts.items():
            names = _running(with_settings(host_config, tuple(setting)), replay)
            if name not in names:  # enabled in the file, switched off by the environment
                raise ConfigError(
                    f"--{'compare' if name == plugin else 'against'} {name}: it would not "
                    f"run in the runs with it "
                    f"({switched_off_by_env(name, os.environ) or 'see `hostapp plugins`'})"
                )
            running.extend(n for n in names if n not in running)
        return running
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _running(config: HostConfig, replay: Replay) -> list[str]:
    """The plugins enabled in a host built on three bars of ``replay`` and shut down."""
    few = {s: list(bars[:3]) for s, bars in replay.series.items() if bars}
    app = appmod.build_sim_app(
        config,
        few,
        base_timeframe=replay.base,
        timeframe=replay.timeframe,
        base_sources=replay.base_sources,
    )
    try:
        return appmod.plugin_names(app.plugins)
    finally:
        event_loop.run(app.plugins.shutdown(app.host))


def plugin_exists(config: HostConfig, plugin: str) -> bool:
    """Whether a plugin named ``plugin`` is installed (a comparison runs it whatever
    ``config`` enables)."""
    if plugin in config.plugin_tables:
        return True
    from importlib.metadata import entry_points

    from hookspecs.markers import ENTRY_POINT_GROUP, OPTIONAL_ENTRY_POINT_GROUP

    groups = (ENTRY_POINT_GROUP, OPTIONAL_ENTRY_POINT_GROUP)
    return any(ep.name == plugin for g in groups for ep in entry_points(group=g))


def write_comparison(
    plugin: str,
    replay: Replay,
    runs: tuple[RunResult, RunResult, RunResult | None],
    against: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``summary.json``, ``trades.csv`` and the charts of a comparison, in the replay's
    report folder; returns the summary and a line for each file that could not be written.
    The summary is written before the charts are drawn and again naming those written: a
    chart that cannot be written (a full disk, a folder in its place) loses none of the
    figures, and the table is printed all the same."""
    from .result_charts import write_equity_chart, write_r_histogram

    without, same, full = runs
    folder = replay.report
    summary = build_report(plugin, without, same, full, against)
    summary.update(replay.extra)
    summary["interrupted"] = any(r.interrupted for r in runs if r is not None)
    # why the A/B is void (exit 3), as data beside the line on stderr; null when it is not
    summary["did_nothing"] = None if summary["interrupted"] else did_nothing(plugin, runs)
    summary["notes"] = notes(summary)
    summary["warnings"] = warnings(summary)
    summary["charts"] = []
    summary["trades_csv"] = "trades.csv"
    trades_csv = folder / "trades.csv"
    problems = _written(trades_csv, lambda: write_trades_csv(trades_csv, without, same, full))
    if problems:
        summary["trades_csv"] = None
    deals = deal_rows("same_entries", "without", without.closed)
    deals += deal_rows("same_entries", "with", same.closed)
    if full is not None:
        deals += deal_rows("full", "with", full.closed)
    problems += save_deals_csv(folder, deals, summary)
    summary_problems = _written(
        folder / "summary.json", lambda: write_json(folder / "summary.json", summary)
    )
    base_label = against or f"without {plugin}"
    labelled = {base_label: without, f"with {plugin} (same entries)": same}
    if full is not None:
        labelled[f"with {plugin} (full)"] = full
    curves = {label: run.curve() for label, run in labelled.items()}
    stopped = {label: run.until for label, run in labelled.items() if run.interrupted and run.until}
    rs = {
        base_label: [t.r for t in without.trades if t.r is not None],
        f"with {plugin} (same entries)": [t.r for t in same.trades if t.r is not None],
    }
    drawings: list[Callable[[], list[Path]]] = [
        lambda: price_charts(replay, same, title=f"with {plugin}, same entries"),
        lambda: [
            write_equity_chart(
                folder / "equity.png",
                curves,
                start_balance=same.start_balance,
                start=same.start,
                until=max(r.until or same.start for r in labelled.values()),
                stopped=stopped,
            )
        ],
        lambda: [write_r_histogram(folder / "r_histogram.png", rs)],
    ]
    charts: list[Path] = []
    for draw in drawings:
        try:
            charts += draw()
        except ChartError as exc:
            charts += exc.written
            problems += exc.lines()
    summary["charts"] = [p.name for p in charts]
    if not summary_problems:
        summary_problems = _written(
            folder / "summary.json", lambda: write_json(folder / "summary.json", summary)
        )
    return summary, [*problems, *summary_problems]


def write_run_trades(folder: Path, run: RunResult) -> list[str]:
    """``trades.csv`` of a run compared with none (``hostapp replay FILE``, ``hostapp
    run``): one row per trade in the A/B's columns, ``comparison`` and ``pair`` empty;
    else the line naming the file, and why it could not be written."""
    return write_trades(folder, run.label, run.trades)


def write_trades(folder: Path, label: str, trades: Sequence[Outcome]) -> list[str]:
    """``trades.csv`` of the trades of one run labelled ``label`` (its ``run`` column)
    compared with none; else the line naming the file, and why it could not be written."""
    path = folder / "trades.csv"
    rows = trade_rows("", label, trades, {})
    return _written(path, lambda: write_trade_rows(path, rows))


def _written(path: Path, write: Callable[[], object]) -> list[str]:
    """``write()`` of the file ``path`` done; else the line naming it, and why (a full
    disk's write error carries no file name of its own)."""
    try:
        write()
    except OSError as exc:
        return [f"cannot write {path}: {exc.strerror or exc}"]
    return []


def price_charts(replay: Replay, run: RunResult, title: str = "") -> list[Path]:
    """One price chart per symbol of ``run``, in the replay's report folder."""
    from .charts import write_price_charts

    return write_price_charts(
        replay.report,
        replay.series,
        trades=run.trades,
        states=run.recorder.states,
        actions=run.recorder.actions,
        timeframe=replay.base,
        until=run.until,
        since=replay.trade_from,
        title=title,
    )


def compare_command(
    plugin: str,
    replay: Replay,
    *,
    against: str | None = None,
    json_out: bool = False,
    jobs: int = 1,
) -> int:
    """``hostapp replay --compare NAME [--against OTHER]``: the runs, the report, the
    table; exit 3 when the plugin under test did nothing at all, 130 when interrupted."""
    preflight(plugin, against, replay)  # refused settings: one line before any run
    if against is not None:
        preflight(against, plugin, replay)  # and those of the baseline's manager
    runs = compare_runs(plugin, replay, against=against, jobs=jobs)
    summary, problems = write_comparison(plugin, replay, runs, against)
    print_comparison(summary, json_out=json_out)
    out = sys.stderr if json_out else sys.stdout
    folder = replay.report
    print(
        f"\nreport: {folder / 'summary.json'}, trades.csv, deals.csv and charts in {folder}/",
        file=out,
    )
    print(f"log: {folder / LOG_NAME}", file=out)
    if summary["interrupted"]:
        return say_unwritten(problems, EXIT_INTERRUPTED)
    void = summary["did_nothing"]
    if void is not None:
        say_unwritten(problems, 0)
        print(f"hostapp: {void}", file=sys.stderr)
        return EXIT_DID_NOTHING
    return say_unwritten(problems, 0)
