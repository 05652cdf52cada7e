"""The ``hostapp`` command: ``plugins`` here; ``run`` and ``replay`` live in hostapp.runner.

User errors (bad configuration, an enabled plugin that cannot load) are one line on
stderr and exit code 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from hookspecs import ConfigError, keep_interrupts, output_unwritable

from .bar_clock import zone_arg
from .cli_options import days, fraction, jobs, port, speed
from .cli_plugins import plugins_command
from .config import DEFAULT_COMPARE
from .errors import EXIT_USAGE, PluginError
from .trade_from import utc_time

#: The shell's code for a run ended by SIGINT (128 + 2), also when it lands mid-start-up.
EXIT_INTERRUPTED = 130
#: what a shell reports for a command killed by SIGPIPE (128 + 13)
EXIT_BROKEN_PIPE = 141


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="plugins.toml to use (default: ./plugins.toml if present, else all defaults)",
    )


def build_parser(prog: str = "hostapp") -> argparse.ArgumentParser:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(prog=prog, description="A plugin-based trading host.")
    parser.add_argument("--version", action="version", version=f"hostapp {version('hostapp')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("plugins", help="list every known plugin and its status")
    _add_config(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=plugins_command)

    p = sub.add_parser("run", help="run the trading loop (paper broker by default)")
    _add_config(p)
    p.add_argument(
        "--days",
        type=days,
        default=None,
        metavar="N",
        help="simulate N days (1 to 36,500), then stop",
    )
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the synthetic feed")
    p.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="write the report to DIR (default .hostapp/report; .hostapp/live with --live)",
    )
    p.add_argument("--live", action="store_true", help="run against the wall clock")
    p.add_argument(
        "--speed",
        type=speed,
        default=None,
        metavar="N",
        help="with --live on paper: play the feed N times faster than real time (bars, "
        "cycles, DTMS's clock and deadlines alike; 120: an M5 bar every 2.5 s)",
    )
    p.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the A/B with and without DTMS on the same entries (simulated runs)",
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="with --live: also serve the enabled plugins' web routes (their web_routes "
        "hook) on 127.0.0.1:--port; DTMS serves its dashboard there (/, /dtms/trades, "
        "/metrics)",
    )
    p.add_argument(
        "--port",
        type=port,
        default=None,
        metavar="N",
        help="port of --serve on 127.0.0.1 (default 8002; 0: any free port)",
    )
    p.add_argument("--log-json", action="store_true", help="log JSON lines")
    p.set_defaults(handler=_run)

    p = sub.add_parser("replay", help="replay CSV bars through the host")
    _add_config(p)
    p.add_argument(
        "data",
        nargs="*",  # "+" would let --compare take the only file as its NAME and stop
        metavar="DATA.csv",
        help="bar files to replay: time,open,high,low,close[,volume][,spread] with a header, "
        "or as MetaTrader 5 (its history export or its Python API's bars) or 4, "
        "pandas/yfinance, Dukascopy, HistData.com, Binance, Kraken or ccxt write them (the "
        "layout is told from the first line); dates also as 2024.01.02, 02.01.2024 or "
        "01/02/2024",
    )
    p.add_argument(
        "--symbol",
        default=None,
        help="the symbol of the DATA.csv files (default: each file's name, XAUUSD.csv → "
        "XAUUSD; MetaTrader's XAUUSD_M5_202401020000_202412312355.csv → XAUUSD); several "
        "files of one symbol are joined in time order",
    )
    p.add_argument(
        "--data-tz",
        default=None,
        metavar="ZONE",
        help="where the files' times were written, for times written without an offset "
        "(default: [host] data_tz, UTC): an IANA name such as Europe/Athens (daylight "
        "saving included), one shifted by whole hours such as America/New_York+7 (a "
        "MetaTrader server on New York close time) or a fixed offset such as +02:00",
    )
    p.add_argument(
        "--bar-clock",
        type=zone_arg,
        default=None,
        metavar="ZONE",
        help="the clock the host's coarser bars (D1, H4, W1) are built on from the files' "
        "(default: [host] bar_clock, else the files' own clock): America/New_York+7 makes "
        "FX days that open at New York's close, as most brokers' servers do, out of UTC bars",
    )
    p.add_argument(
        "--keep-spikes",
        action="store_true",
        help="keep a bar ten times away from the closes on both sides (a spike, refused by "
        'default as a slip in the file) for thin but real data: as [host] spikes = "keep"',
    )
    p.add_argument(
        "--timeframe",
        default=None,
        metavar="TF",
        help="the host's timeframe for this replay (default: [host] timeframe when it can be "
        "built from the data, else the data's own). A whole multiple of the files' bar "
        "spacing is built from their bars (resampled up: H1 from M5 bars); a shorter one, or "
        "one that is not a multiple, is refused. Also names the spacing of files whose "
        "timeframe cannot be told from their bar gaps",
    )
    p.add_argument(
        "--compare",
        nargs="?",
        const=DEFAULT_COMPARE,
        default=None,
        metavar="NAME",
        help="A/B of plugin NAME (default dtms): without it, with it on the same entries, "
        "and with it trading freely; a table, trades.csv, equity and R charts",
    )
    p.add_argument(
        "--against",
        default=None,
        metavar="OTHER",
        help="with --compare: the baseline run uses plugin OTHER instead of nothing (e.g. "
        "atr_trailing, the Chandelier exit); both manage the same entries. 'none': without",
    )
    p.add_argument(
        "--jobs",
        type=jobs,
        default=None,
        metavar="N",
        help="with --compare: the runs of the A/B (and of a sweep) in N worker processes "
        "at once (default: one per core; 1: one after the other in this process). The "
        "results are the same whatever N",
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="NAME.KEY=V1,V2,...",
        help="with --compare: run the A/B for every combination of these settings of "
        "plugin NAME's table (e.g. dtms.thresholds.to_l1=-3,-2,-1; repeat for more keys), "
        "without the free run; one table, also in sweep.csv, best first by the highest "
        "average R with the plugin on the same entries (ties: the smaller max drawdown). "
        "Tuned in-sample: the best row overfits these bars (see --split)",
    )
    p.add_argument(
        "--split",
        type=fraction,
        default=None,
        metavar="F",
        help="with --sweep: tune on the first F of the bars (0 < F < 1, e.g. 0.7) and "
        "report the chosen setting on the rest, which the tuning never saw",
    )
    p.add_argument(
        "--from",
        dest="trade_from",
        type=utc_time,
        default=None,
        metavar="TIME",
        help="trade from TIME on (2024-03-01 or 2024-03-01T12:00, UTC unless it says): the "
        "bars before it are the plugins' history (indicators, averages), as a live run's "
        "past is, not traded",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="write the report (summary.json, charts, trades.csv) to DIR (default .hostapp/report)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of a table"
    )
    p.set_defaults(handler=_replay)

    p = sub.add_parser(
        "serve",
        help="headless: the broker, the monitoring loop and the plugins' web routes, no"
        " strategy (`dtms serve` is this mode)",
    )
    from .serve import add_arguments

    add_arguments(p)
    p.set_defaults(handler=_serve)
    return parser


#: The exit code when the output could not be written
EXIT_OUTPUT_FAILED = 1


def main(argv: Sequence[str] | None = None, prog: str = "hostapp") -> int:
    """The ``hostapp`` command. ``prog`` names the command in messages: a plugin's alias
    of a host mode (``dtms serve``) passes its own name."""
    keep_interrupts()
    lenient_stdout()
    args = build_parser(prog).parse_args(argv)
    args.prog = prog
    old_term = _term_as_interrupt()
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at exit
    except BrokenPipeError:
        # the reader of the output went away (``hostapp plugins --json | head``): stop
        # quietly, as command-line tools do, with what was left unwritten thrown away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SystemExit as exc:
        if isinstance(exc.__context__, BrokenPipeError):
            return EXIT_BROKEN_PIPE  # rich's on_broken_pipe: the same reader gone, said the same
        raise
    except OSError as exc:
        if not output_unwritable(exc):
            raise  # a file's: its command says it
        # the output itself cannot be written (``> /dev/full``, a full disk under a
        # redirect): one line, not a traceback; the report's files say what they say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"{prog}: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_OUTPUT_FAILED
    except (ConfigError, PluginError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # A Ctrl-C where the command has no handler of its own (its start-up: imports,
        # opening the store, binding the port; or after its runs, while it writes what
        # they found) stops it as one line, not a traceback from wherever it fell.
        print(
            f"{prog}: interrupted before it could stop in order; what it had not written "
            "yet is missing",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    return code


def _term_as_interrupt() -> Any:
    """SIGTERM (``systemctl stop``, ``docker stop``) stops the command as Ctrl-C does
    wherever it lands: before a run's own handlers are in place (reading the bars,
    starting the plugins) it killed the process without a word or a report. Returns the
    handler it replaced, or ``None`` when it left SIGTERM alone (not the main thread, or
    someone else's handler)."""
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return None
        return signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread: signals are not this call's to set
        return None


def lenient_stdout() -> None:
    """A character the output's encoding cannot hold (``×`` on an ASCII locale) is shown as
    ``?``: it failed the whole command, after a run whose summary was then lost."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve_command

    return serve_command(args, args.prog)


def _runner_missing(exc: ImportError) -> int:
    print(f"hostapp: the trading loop is not available ({exc})", file=sys.stderr)
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    try:
        from .runner import run_command  # type: ignore[attr-defined, unused-ignore]
    except ImportError as exc:
        return _runner_missing(exc)
    return int(run_command(args))


def _replay(args: argparse.Namespace) -> int:
    try:
        from .runner import replay_command  # type: ignore[attr-defined, unused-ignore]
    except ImportError as exc:
        return _runner_missing(exc)
    return int(replay_command(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
