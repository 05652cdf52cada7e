"""``hostapp serve``: the host's headless mode.

A serving host trades nothing of its own: no plugin proposes or vetoes orders here. It
opens the broker connection (:mod:`hostapp.runtime`: the account the trading host drives),
runs a monitoring loop (``on_cycle`` every ``--monitor-seconds``, default ``[host]
cycle_seconds``) and serves one aiohttp app with the routes plugins contribute through
``web_routes`` (:mod:`hostapp.web`). Only the plugins that serve something are loaded: a
strategy or an exit manager belongs to the trading host beside it. ``dtms serve`` is this
mode under the DTMS plugin's name (see docs/architecture.md, "Run modes").

Start-up failures (configuration, a broker that cannot connect, a port that cannot be
bound) print one line and exit 2, as they do for ``hostapp run``; SIGINT or SIGTERM
stops cleanly with exit code 0, and so, on Windows (whose event loops take no signal
handlers), do Ctrl-C and Ctrl-Break (:func:`_stop_on_signals`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from types import FrameType
from typing import Any

from hookspecs import BrokerError, ConfigError, ServeOptions

from . import event_loop
from .account_clock import AccountClockWatch, standing_after
from .cli_options import days
from .config import DEFAULT_ACCOUNT_FILE, HostConfig, load_config
from .durations import AT_MOST, is_duration
from .errors import PluginError
from .host import Host
from .loader import load_plugins, refuse_unloaded
from .made_files import MadeFiles
from .pluginhost import PluginHost
from .runtime import Runtime, build_runtime
from .stop_signals import STOP_SIGNALS
from .table_reads import warn_unread

EXIT_OK = 0
EXIT_CONFIG = 2  # every start-up failure, as for ``hostapp run`` (hostapp.cli)
#: ``--port`` when not given.
DEFAULT_PORT = 8001

log = logging.getLogger("hostapp.serve")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``hostapp serve`` (and of its aliases)."""
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8001; 0: any)")
    p.add_argument(
        "--config", default=None, help="plugins.toml (default ./plugins.toml if present)"
    )
    p.add_argument(
        "--monitor-seconds",
        type=float,
        default=None,
        help="seconds between monitoring cycles (default: each plugin's own, e.g."
        " [plugin.dtms] monitor_seconds; the host's loop: [host] cycle_seconds)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the builtin feed: the host's --seed"
    )
    p.add_argument(
        "--days", type=days, default=None, help="days of the builtin feed: the host's --days"
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING"],
        help="the least severe log lines written to stderr (default INFO)",
    )
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    p.add_argument(
        "--insecure-no-token",
        action="store_true",
        help="serve a non-loopback --host without a token (anyone who reaches it can use"
        " the plugins' routes)",
    )


def serve_command(args: argparse.Namespace, prog: str = "hostapp") -> int:
    from .logs import PluginLines, configure_logging

    handler = configure_logging(json=args.log_json, level=args.log_level)
    if not args.log_json and args.log_level != "DEBUG":
        handler.setFormatter(PluginLines())  # a plugin's failure: one line, as on run's
    return event_loop.run(_serve(args, prog))


def _options(args: argparse.Namespace, config: HostConfig) -> ServeOptions:
    monitor = args.monitor_seconds
    if monitor is not None and not is_duration(monitor):  # NaN and inf too
        raise ConfigError(
            f"--monitor-seconds: must be a finite number > 0 and {AT_MOST}, got {monitor!r}"
        )
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port: must be 0..65535, got {args.port!r}")
    return ServeOptions(
        bind=args.host,
        port=args.port,
        monitor_seconds=monitor,
        insecure=args.insecure_no_token,
        broker=config.host.broker,
        symbols=tuple(config.host.symbols),
    )


def _serving_plugins(config: HostConfig) -> PluginHost:
    """The enabled plugins that implement ``web_routes``, loaded on their own: a serving
    host runs no strategy and no exit manager (the trading host does).

    A plugin that cannot run stops the start (:func:`~hostapp.loader.refuse_unloaded`: it
    may have been one that serves), unless it loaded and was rejected at registration
    with every hook it implements known and none of them ``web_routes``: serve would
    not run it anyway, so it goes on without it, in one WARNING naming it and why
    (``hostapp run`` still refuses to start with it). One that failed to load, or whose
    hooks include a misspelled name (a ``web_route`` meant to serve), still stops it."""
    from .hookcalls import HOOK_NAMES
    from .loader import cannot_run

    quiet = logging.getLogger("hostapp.plugins")
    level = quiet.level
    # The loader's lines would say, for every plugin left out, that the allow-list below
    # left it out; a failing plugin is still an ERROR.
    quiet.setLevel(logging.ERROR)
    try:
        everything = load_plugins(config)
        failed = [r for r in everything.listing() if r.status == "failed"]
        idle = [
            r
            for r in failed
            if r.failed_in == "rejected"
            and r.hooks
            and "web_routes" not in r.hooks
            and set(r.hooks) <= set(HOOK_NAMES)
        ]
        if len(idle) < len(failed):
            refuse_unloaded(config, everything)  # it may have been one that serves
        for r in idle:
            log.warning(
                "%s; serve goes on without it (it implements no web_routes, so serve does"
                " not run it); hostapp run refuses to start until it is fixed or switched"
                " off in %s",
                cannot_run(r),
                config.source,
            )
        serving = [
            r.name
            for r in everything.listing()
            if r.status == "enabled" and "web_routes" in r.hooks
        ]
        plugins = load_plugins(config, env={"HOSTAPP_LOAD_PLUGINS": ",".join(serving)})
    finally:
        quiet.setLevel(level)
    return plugins


def _where(config: HostConfig, exc: BaseException) -> str:
    """The file and key behind a broker that cannot open: the paper account file."""
    if isinstance(exc, sqlite3.Error | OSError) and config.host.broker == "paper":
        account = config.host.paper.get("account_file")
        return f"{config.source} [host.paper] key 'account_file' ({account}): "
    return ""


class _Unavailable:
    """Stands in for a broker, market and clock that could not be built: a plugin that
    touches it while configuring raises the build's error, after the plugin checked its
    own settings, so a mistake in a plugin's table is reported first, as before it
    needed the broker."""

    def __init__(self, exc: ConfigError) -> None:
        self._exc = exc

    def __getattr__(self, name: str) -> Any:
        raise self._exc


async def _serve(args: argparse.Namespace, prog: str) -> int:
    try:
        config = load_config(args.config)
        options = _options(args, config)
        plugins = _serving_plugins(config)
    except (ConfigError, PluginError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    problem: ConfigError | None = None
    made = MadeFiles(config.host.paper.get("account_file", DEFAULT_ACCOUNT_FILE))
    try:
        runtime = await asyncio.to_thread(build_runtime, config, seed=args.seed, days=args.days)
    except (ConfigError, sqlite3.Error, OSError, ValueError) as exc:
        problem = ConfigError(f"{_where(config, exc)}{exc}")
        missing: Any = _Unavailable(problem)
        runtime = Runtime(broker=missing, market=missing, clock=missing)
    except (BrokerError, ImportError) as exc:
        print(f"{prog}: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        code = await _run(prog, config, options, plugins, runtime, problem)
    finally:
        if runtime.close is not None:
            runtime.close()
    if code == EXIT_CONFIG and config.host.broker == "paper":
        made.remove()  # a refused start leaves no account behind (hostapp.made_files)
    return code


async def _run(
    prog: str,
    config: HostConfig,
    options: ServeOptions,
    plugins: PluginHost,
    runtime: Runtime,
    problem: ConfigError | None,
) -> int:
    from .web import serving

    host = Host(
        runtime.broker,
        runtime.market,
        runtime.clock,
        config,
        plugins,
        log=logging.getLogger("hostapp.host"),
        mode="serve",
        serve_options=options,
    )
    try:
        plugins.configure(host)
        if problem is not None:
            raise problem
        warn_unread(config, plugins, host.table_reads)
    except ConfigError as exc:
        print(f"{prog}: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = asyncio.Event()
    undo_signals = _stop_on_signals(asyncio.get_running_loop(), stop)
    # a plugin's own KeyboardInterrupt asks for the stop Ctrl-C asks for (hostapp.isolation)
    plugins.on_interrupt = stop.set
    plugins.clock = host.clock.now
    plugins.retry_seconds = config.host.breaker_retry_seconds  # a tripped plugin: retried
    period = options.monitor_seconds or config.host.cycle_seconds
    watch = runtime.watch
    try:
        async with AsyncExitStack() as stack:
            await plugins.startup(host)
            stack.push_async_callback(plugins.shutdown, host)
            try:
                url, _ = await stack.enter_async_context(
                    serving(plugins, host, options.port, bind=options.bind)
                )
            except ConfigError as exc:  # a port that cannot be bound
                print(f"{prog}: {exc}", file=sys.stderr)
                return EXIT_CONFIG
            except Exception as exc:  # a plugin's app that cannot start (its files)
                print(f"{prog}: cannot start: {exc}", file=sys.stderr)
                return EXIT_CONFIG
            print(f"{prog}: serving on {url.rstrip('/')}", file=sys.stderr, flush=True)
            if watch is not None:
                watch.start(host.clock.now(), standing_after(period, config.host.cycle_seconds))
            cycles = _monitor(plugins, host, period, watch)
            monitor = asyncio.create_task(cycles, name="host-monitor")
            try:
                await stop.wait()
            finally:
                monitor.cancel()
                await asyncio.gather(monitor, return_exceptions=True)
            print(f"{prog}: stopping", file=sys.stderr, flush=True)
            return EXIT_OK
    finally:
        undo_signals()
        plugins.on_interrupt = None
        plugins.failed_calls.end_all()  # each open episode of failures: how many more


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` on :data:`~.stop_signals.STOP_SIGNALS`; returns what puts the handlers
    back. The loop's own signal handlers where it has them (POSIX). Windows' event loops have none
    (``add_signal_handler`` raises ``NotImplementedError``: ``hostapp serve`` did not
    start there at all); there Python's own handlers set ``stop`` through the loop
    (:meth:`~asyncio.loop.call_soon_threadsafe`: a handler runs between any two
    bytecodes, in the loop's internals too), which a Ctrl-C wakes (the loop is the
    signal module's wakeup), for Ctrl-C and for Ctrl-Break (``SIGBREAK``, also what
    closing the console window sends) as well as SIGTERM."""
    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
    except NotImplementedError:  # Windows
        pass
    else:

        def remove() -> None:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

        return remove

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop.set)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, old in previous.items():  # None: a handler not set from Python
            signal.signal(sig, signal.SIG_DFL if old is None else old)

    return restore


async def _monitor(
    plugins: PluginHost, host: Host, period: float, watch: AccountClockWatch | None
) -> None:
    """The serving host's monitoring loop: ``on_cycle`` for every serving plugin. Each
    plugin's failures are isolated by the PluginHost; this loop itself never dies of one.
    Each reading of a paper account file's clock is shown to ``watch``, which says when
    it stands (no trading host drives the file) and when it moves again."""
    while True:
        plugins.new_cycle()  # the breaker: a plugin due to be retried is switched back on
        now = host.clock.now()
        if watch is not None:
            watch.observe(now)
        await plugins.on_cycle(host, now)
        await asyncio.sleep(period)
