"""``dtms``: the DTMS command line. ``dtms serve`` runs the DTMS API server.

Configuration errors (a bad plugins.toml, a missing account file) print one line on stderr
and exit with code 2, before anything listens; SIGINT or SIGTERM stops the server cleanly
(the monitoring loop, the broker connection and the store are closed) with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hookspecs import BrokerError, ConfigError

if TYPE_CHECKING:
    from .server import ServerSettings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    from .ops import add_verbs, version

    parser = argparse.ArgumentParser(prog="dtms", description="Defensive Trade Management System")
    parser.add_argument("--version", action="version", version=f"dtms {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the DTMS API server (a headless host)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="port (default 8001; 0: any)")
    serve.add_argument(
        "--config",
        default=None,
        help="plugins.toml (default ./plugins.toml if present); with the paper broker its"
        " [host.paper] account_file (the shipped one: .hostapp/paper-account.sqlite) is the"
        " account shared with hostapp run --live",
    )
    serve.add_argument(
        "--monitor-seconds",
        type=float,
        default=None,
        help="seconds between monitoring cycles (default: [plugin.dtms] monitor_seconds, 5)",
    )
    serve.add_argument(
        "--seed", type=int, default=0, help="seed of the builtin feed: the host's --seed"
    )
    serve.add_argument(
        "--days", type=float, default=None, help="days of the builtin feed: the host's --days"
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    serve.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    serve.add_argument(
        "--insecure-no-token",
        action="store_true",
        help="serve a non-loopback --host without a token (anyone who reaches it can"
        " register and unregister trades)",
    )
    add_verbs(sub)  # the operator verbs: status, trades, trade, actions, ...
    return parser


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; a name or an empty host (every address) is
    not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_exposure(settings: ServerSettings, insecure: bool) -> None:
    """Serving beyond this machine without a token hands trade management to anyone
    who reaches the port (docs/architecture.md §9: the server binds 127.0.0.1 by
    default). Refused unless ``--insecure-no-token`` says the user means it."""
    if _is_loopback(settings.host) or settings.resolve_token() is not None:
        return
    if insecure:
        logging.getLogger("dtms_plugin.server").warning(
            "serving %s without a token (--insecure-no-token): anyone who reaches it can"
            " register and unregister trades",
            settings.host,
        )
        return
    raise ConfigError(
        f"--host {settings.host} is not a loopback address and no token is set: set"
        f" {settings.dtms.token_env} to a secret (clients send Authorization: Bearer <it>),"
        " or pass --insecure-no-token"
    )


def _settings(args: argparse.Namespace) -> ServerSettings:
    """ServerSettings from the flags and plugins.toml; ConfigError names file and key."""
    from hostapp.config import load_config

    from .server import ServerSettings
    from .settings import load_settings

    config = load_config(args.config)
    dtms = load_settings(config.table_for("dtms"), f"{config.source} [plugin.dtms]")
    if config.host.broker == "paper" and not config.host.paper.get("account_file"):
        raise ConfigError(
            f"{config.source} [host.paper]: key 'account_file' is required for dtms serve"
            " with the paper broker (the server trades on the account file the host drives)"
        )
    try:
        return ServerSettings(
            dtms=dtms,
            host=args.host,
            port=args.port,
            monitor_seconds=(
                args.monitor_seconds if args.monitor_seconds is not None else dtms.monitor_seconds
            ),
            plugin_config=config.plugin_tables,
            broker=config.host.broker,
            host_config=config,
            seed=args.seed,
            days=args.days,
        )
    except ValueError as exc:
        raise ConfigError(f"dtms serve: {exc}") from None


def _where(settings: ServerSettings, exc: BaseException) -> str:
    """The file and key behind a start-up failure: the store lives in ``state_dir``, the
    paper account (SQLite) in ``account_file``."""
    from .store import StoreError

    source = getattr(settings.host_config, "source", "plugins.toml")
    if isinstance(exc, StoreError) and settings.dtms.store:
        return f"{source} [plugin.dtms] key 'store': "
    if isinstance(exc, StoreError):
        return f"{source} [plugin.dtms] key 'state_dir' ({settings.dtms.state_dir}): "
    if isinstance(exc, sqlite3.Error) and settings.broker == "paper":
        paper = getattr(getattr(settings.host_config, "host", None), "paper", {})
        return f"{source} [host.paper] key 'account_file' ({paper.get('account_file')}): "
    return ""


async def _serve(settings: ServerSettings) -> int:
    from aiohttp import web

    from .server import create_app
    from .server.protocol import JsonErrorAppRunner
    from .store import StoreError

    app = create_app(settings, dashboard=True)
    runner = JsonErrorAppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()  # opens the store, the broker, starts the engine
    except (
        ConfigError, StoreError, BrokerError, ValueError, OSError, ImportError, sqlite3.Error
    ) as exc:  # fmt: skip
        await runner.cleanup()
        print(f"dtms: cannot start: {_where(settings, exc)}{exc}", file=sys.stderr)
        usage = isinstance(exc, ConfigError | StoreError | ValueError | sqlite3.Error)
        return EXIT_CONFIG if usage else EXIT_FAILURE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        try:
            await site.start()
        except OSError as exc:
            print(f"dtms: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        for address in runner.addresses:
            host, port = address[0], address[1]
            print(f"dtms: serving on http://{host}:{port}", file=sys.stderr, flush=True)
        await stop.wait()
        print("dtms: stopping", file=sys.stderr, flush=True)
        return EXIT_OK
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "serve":
        from .ops import run

        return run(args)
    from hostapp.logs import configure_logging

    configure_logging(json=args.log_json, level=args.log_level)
    try:
        settings = _settings(args)
        _check_exposure(settings, args.insecure_no_token)
    except ConfigError as exc:
        print(f"dtms: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_serve(settings))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
