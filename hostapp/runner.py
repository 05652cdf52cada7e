"""``hostapp run`` and ``hostapp replay``: build a host, drive the loop, write the report.

Both stop cleanly on SIGINT/SIGTERM: the loop finishes the cycle it is in, every plugin's
``shutdown`` runs (DTMS flushes its store there), and the report of the partial run is
written and flagged ``interrupted``; the exit code is then 130. A second SIGINT aborts.

Each simulated run gets a fresh root for its plugins' state folders (``host.data_dir``),
``<report>/<label>-state`` (wiped at the start), instead of the configured ones: replayed
trades must not leak into the state a live host uses, and two ``make run`` in a row must
give the same report. ``--live`` keeps the configured ones.

``--live --serve`` also serves the DTMS dashboard from this process while the loop runs
(see :mod:`hostapp.live_serve`); a paper live run is :mod:`hostapp.live_paper`. A command
holds its report folder while it runs (a second one there is refused before it touches
the first one's files), a paper live run its account file too (:mod:`hostapp.claims`).
Logs go to ``<report>/hostapp.log`` in the shapes of :mod:`hostapp.logs`
(``--log-json``: one JSON object per line, with each event's fields).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, ExitStack
from pathlib import Path
from typing import Any

from hookspecs import BrokerError, ConfigError

from . import app as appmod
from . import event_loop
from .bar_clock import stub_note
from .chart_canvas import ChartError
from .cli_options import compare_name_or_data
from .config import DEFAULT_COMPARE, HostConfig, load_config
from .data import bar_zone
from .deal_rows import deal_rows, save_deals_csv
from .driving import (
    EXIT_INTERRUPTED,
    LIVE_WINDOW,
    LOG_NAME,
    Serve,
    bound_for_live,
    drive,
    run_results,
    say_unwritten,
)
from .errors import EXIT_ACCOUNT_CHANGED, EXIT_USAGE
from .live_interim import reporting_as_it_goes
from .live_paper import (
    EXIT_ACCOUNT_FILE_FAILED,
    claim_account,
    live_account,
    live_report,
    paper_live,
)
from .live_start import at_start, begin_live, log_refusal
from .market.csvsplits import SplitTimes
from .parallel import default_jobs
from .replay_files import replay_files, replay_timeframes
from .report import summary_table
from .report_files import clear_report, saved_csv, saved_json
from .report_logging import setup_logging
from .trade_from import check_trade_from, history_note
from .trade_rows import TRADE_COLUMNS, trade_rows

DEFAULT_REPORT = Path(".hostapp/report")
#: a live run's own: it would otherwise replace half of a simulated run's report (its
#: summary and log) and leave the other half (charts, compare/) beside it
DEFAULT_LIVE_REPORT = Path(".hostapp/live")


def _report_option(args: argparse.Namespace, default: Path) -> Path:
    """``--report DIR``, or ``default`` when it is left out. An empty one is refused: it
    fell back to the default folder without a word, replacing the report there."""
    text: str | None = args.report
    if text is None:
        return default
    if not text.strip():
        raise ConfigError(f"--report {text!r}: name a folder (or leave it out for {default})")
    return Path(text)


def _serve_option(args: argparse.Namespace) -> Serve | None:
    """``--serve``: the plugins' web routes (DTMS's dashboard among them), on ``--port``;
    live runs only. ``--port`` without it is refused, as ``--speed`` without ``--live``
    is: it was ignored without a word."""
    if not getattr(args, "serve", False):
        if getattr(args, "port", None) is not None:
            live = "" if args.live else " (and --live)"
            raise ConfigError(f"--port is the port --serve listens on: add --serve{live}")
        return None
    if not args.live:
        raise ConfigError(
            "--serve serves the plugins' web routes during a live run: add --live (or use "
            "`hostapp serve`)"
        )
    from .live_serve import DEFAULT_PORT, serving

    port = getattr(args, "port", None)
    port = DEFAULT_PORT if port is None else port

    def serve(app: appmod.App) -> AbstractAsyncContextManager[Any]:
        return serving(app.plugins, app.host, port)

    return serve


# -- hostapp run ----------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    with ExitStack() as held:  # the claims of the account file and the report folder
        try:
            return _run_command(args, held)
        except ConfigError as exc:
            log_refusal(exc)  # before ``held`` lets the log go: in it, not only on stderr
            raise


def _run_command(args: argparse.Namespace, held: ExitStack) -> int:
    from .market.csvdata import CsvError

    config = load_config(args.config)
    report = _report_option(args, DEFAULT_LIVE_REPORT if args.live else DEFAULT_REPORT)
    seed = args.seed if args.seed is not None else 0
    serve = _serve_option(args)
    speed = _speed_option(args, config)
    if args.live and config.host.broker == "paper":
        config = live_account(config)
    if args.live and config.host.broker == "mt5":
        log = setup_logging(report, held, getattr(args, "log_json", False), live=True)
        serve = at_start(serve, lambda app: begin_live(report, log, app))  # not a refused start
        live = {"mode": "live", "recent_window": LIVE_WINDOW}
        serve = reporting_as_it_goes(serve, report, live)  # a killed run leaves its trades
        try:
            app = appmod.build_live_app(config)
        except BrokerError as exc:
            refused = f"cannot start on MetaTrader: {exc}"
            log_refusal(ConfigError(refused))
            print(f"hostapp: {refused}", file=sys.stderr)
            return EXIT_USAGE
        bound_for_live(app)
        stats = event_loop.run(drive(app, progress=None, serve=serve))
        summary, trades = run_results(app, stats, live)
        code = EXIT_INTERRUPTED if stats.interrupted else 0
        if stats.account_changed:  # the run stopped on its own: not a Ctrl-C
            code = EXIT_ACCOUNT_CHANGED
        return say_unwritten(live_report(report, summary, trades), code)
    if config.host.broker == "mt5":
        raise ConfigError(f'{config.source} [host] broker = "mt5" runs live only: add --live')
    days = appmod.DEFAULT_DAYS if args.days is None else args.days
    notes: list[str] = []
    extra: dict[str, Any] = {"mode": "run", "seed": seed, "days": days, "host_notes": notes}
    splits: SplitTimes = {}
    try:
        if args.live:  # a live run keeps a recent window of the feed, not all of it
            streamed, base = appmod.streamed_config_series(
                config, days=args.days, seed=seed, notes=notes
            )
        else:
            series, base = appmod.config_series(
                config, days=args.days, seed=seed, notes=notes, splits=splits
            )
    except (CsvError, OSError) as exc:
        print(f"hostapp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.live:  # before the report: a refused host leaves the running one's alone
        held.enter_context(claim_account(config))
    log = setup_logging(report, held, getattr(args, "log_json", False), live=args.live)
    if args.live:
        serve = at_start(serve, lambda app: begin_live(report, log, app))  # not a refused start
        summary, trades, stopped = paper_live(config, streamed, base, serve, extra, speed, report)
        problems = live_report(report, summary, trades)
        print(f"log: {report / LOG_NAME}")
        code = _exit_code(summary["interrupted"])
        return say_unwritten(problems, EXIT_ACCOUNT_FILE_FAILED if stopped else code)
    clear_report(report)
    from . import ab, ab_runs

    clock = stub_note(
        series, base, config.host.timeframe, bar_zone(config), by="[host] bar_clock",
        data_by="[host] data_tz",
    )  # fmt: skip
    extra["host_notes"] = [*notes, *filter(None, [clock])]
    replay = ab_runs.Replay(
        config, series, base, config.host.timeframe, report, extra, splits=splits
    )
    run = ab_runs.one_run(replay, "run")
    summary, problems, saved = _results_then_charts(replay, run)
    print(summary_table(summary))
    compared: dict[str, Any] | None = None
    ab_stopped = False  # the A/B stopped before its run with the plugin: none written
    name = DEFAULT_COMPARE
    # no A/B where the summary could not be written (a full disk): it writes more there
    compare = saved and getattr(args, "compare", True) and name in run.summary["plugins"]
    if not run.interrupted and compare:
        # the first thing a new user sees: what the compared plugin changed on the same trades
        to_compare = dataclasses.replace(replay, report=report / "compare")
        try:
            runs = ab.compare_runs(name, to_compare, full=run)
        except ab.NoComparison as stop:
            print(f"\nhostapp: {stop}; no A/B written", file=sys.stderr)
            ab_stopped = True
        else:
            compared, lost = ab.write_comparison(name, to_compare, runs)
            problems += [f"the A/B in {to_compare.report} is incomplete: {line}" for line in lost]
            print()
            ab.print_comparison(compared)
            if (to_compare.report / "summary.json").is_file():  # not on a full disk
                summary["compare"] = "compare/summary.json"
    if saved:
        problems += saved_json(report / "summary.json", summary)
        print(f"\nreport: {_written(report, summary)}")
    if compared is not None:
        print(
            f"A/B: {report / 'compare'}/ (summary.json, trades.csv, deals.csv, equity and R charts)"
        )
    print(f"log: {report / LOG_NAME}")
    if ab_stopped:  # said above: the run's own report is whole, the A/B is not written
        return say_unwritten(problems, EXIT_INTERRUPTED)
    return say_unwritten(problems, _exit_code(run.interrupted))


def _speed_option(args: argparse.Namespace, config: HostConfig) -> float | None:
    """``--speed N``: a paper live run played N times faster than real time."""
    speed: float | None = getattr(args, "speed", None)
    if speed is None:
        return None
    if not args.live:
        raise ConfigError("--speed sets the pace of a live run: add --live")
    if config.host.broker == "mt5":
        raise ConfigError(
            f'{config.source} [host] broker = "mt5": --speed plays the paper feed, '
            "MetaTrader's market runs in real time"
        )
    return speed


def _exit_code(interrupted: bool) -> int:
    """130 after a signal, saying that the report is partial; else 0."""
    if interrupted:
        print("hostapp: interrupted; the report covers the run up to the stop", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


# -- hostapp replay -------------------------------------------------------------------------


def replay_command(args: argparse.Namespace) -> int:
    with ExitStack() as held:  # the claim of the report folder
        return _replay_command(args, held)


def _replay_command(args: argparse.Namespace, held: ExitStack) -> int:
    from . import ab, ab_runs
    from .market.csvdata import CsvError

    config = load_config(args.config)
    report = _report_option(args, DEFAULT_REPORT)
    compare_name_or_data(args)
    if not args.data:
        raise ConfigError("replay: name the bar files to replay (hostapp replay DATA.csv …)")
    against = None if args.against in (None, "none") else args.against
    if against is not None and not args.compare:
        raise ConfigError("--against names the manager to compare with: add --compare NAME")
    sweeps: list[str] = getattr(args, "sweep", None) or []
    split: float | None = getattr(args, "split", None)
    if sweeps and not args.compare:
        raise ConfigError("--sweep runs the A/B for each setting: add --compare [NAME]")
    if split is not None and not sweeps:
        raise ConfigError("--split tunes a sweep on part of the bars: add --sweep NAME.KEY=…")
    trade_from = getattr(args, "trade_from", None)
    if split is not None and trade_from is not None:
        raise ConfigError("--split starts the held-out runs at the split itself: leave --from out")
    if sweeps:
        from .sweep import parse_sweeps

        parse_sweeps(sweeps)  # its mistakes before the bars are read
    jobs: int = getattr(args, "jobs", None) or default_jobs()
    notes: list[str] = []
    splits: SplitTimes = {}
    try:
        files = replay_files(args, config, notes, splits)
    except (CsvError, OSError) as exc:
        print(f"hostapp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "data_tz", None) is not None:  # checked by replay_files
        config = appmod.with_host(config, data_tz=args.data_tz)  # the clock bars are built on
    if getattr(args, "bar_clock", None) is not None:  # checked by argparse
        config = appmod.with_host(config, bar_clock=args.bar_clock)
    zone = bar_zone(config)
    files, base, tf, sources = replay_timeframes(args, files, config.host.timeframe, notes, zone)
    series = appmod.joined_series(files, notes)
    notes.extend(filter(None, [stub_note(series, base, tf, zone)]))
    setup_logging(report, held)
    clear_report(report)
    extra: dict[str, Any] = {"mode": "replay", "data": [str(p) for p in args.data]}
    extra["data_tz"] = getattr(args, "data_tz", None) or config.host.data_tz or "UTC"
    extra["host_notes"] = notes
    if trade_from is not None:
        check_trade_from(series, trade_from)
        extra["host_notes"].append(history_note(series, trade_from))
    replay = ab_runs.Replay(
        config, series, base, tf, report, extra, trade_from=trade_from, splits=splits,
        base_sources=sources,
    )  # fmt: skip
    try:
        if sweeps:
            from .sweep import sweep_command

            return sweep_command(
                args.compare, replay, sweeps, against=against, split=split, jobs=jobs,
                json_out=args.json,
            )  # fmt: skip
        if args.compare:
            return ab.compare_command(
                args.compare, replay, against=against, json_out=args.json, jobs=jobs
            )
    except ab.NoComparison as stop:
        run, stopped = stop.run, True
        upto = ", up to the stop" if run.interrupted else " (it ran to its end)"
        print(f"hostapp: {stop}; the report is that run{upto}", file=sys.stderr)
    except (ChartError, OSError) as exc:  # its table is printed after its files
        if isinstance(exc, OSError) and exc.filename is None:
            raise  # not a file: a reader gone (BrokenPipeError), a connection
        return say_unwritten([f"the report in {report} is incomplete: {_unwritten(exc)}"], 0)
    else:
        run = ab_runs.one_run(replay, "run")
        stopped = run.interrupted
    summary, problems, saved = _results_then_charts(replay, run)
    out = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    else:
        print(summary_table(summary))
    if saved:
        print(f"\nreport: {_written(report, summary)}", file=out)
    print(f"log: {report / LOG_NAME}", file=out)
    return say_unwritten(problems, EXIT_INTERRUPTED if stopped else 0)


def _written(report: Path, summary: Mapping[str, Any]) -> str:
    """What a run wrote, as its last lines say it: ``.hostapp/report/summary.json,
    trades.csv and 2 charts in .hostapp/report/``."""
    files = [str(report / "summary.json")]
    files += [str(summary[k]) for k in ("trades_csv", "deals_csv") if summary.get(k)]
    charts = len(summary.get("charts") or ())
    if charts:
        files.append(f"{charts} chart{'s' if charts > 1 else ''}")
    listed = files[0] if len(files) == 1 else ", ".join(files[:-1]) + " and " + files[-1]
    return f"{listed} in {report}/"


def _results_then_charts(replay: Any, run: Any) -> tuple[dict[str, Any], list[str], bool]:
    """The run's summary and ``trades.csv``, written to the report folder before its price
    charts are drawn, the summary again naming those written: a chart that cannot be
    written (a full disk, a folder in its place) loses none of the results. Also the
    lines to say of what could not be written, and whether the summary was."""
    from . import ab

    path = replay.report / "summary.json"
    summary = {**run.summary, "charts": []}
    rows = trade_rows("", run.label, run.trades, {})  # ab.write_run_trades's, written whole
    problems = saved_csv(replay.report / "trades.csv", TRADE_COLUMNS, rows)
    summary["trades_csv"] = None if problems else "trades.csv"
    problems += save_deals_csv(replay.report, deal_rows("", run.label, run.closed), summary)
    saved = not (lost := saved_json(path, summary))
    problems += lost
    try:
        charts = ab.price_charts(replay, run)
    except ChartError as exc:
        charts = exc.written
        problems += exc.lines()
    summary["charts"] = [p.name for p in charts]
    if charts and saved:
        problems += saved_json(path, summary)
    return summary, problems, saved


def _unwritten(exc: ChartError | OSError) -> str:
    """Which file of the report could not be written, and why."""
    if isinstance(exc, ChartError):
        return "; ".join(exc.lines())
    return f"{exc.filename}: {exc.strerror or exc}"
