"""DTMS on a serving host (``hostapp serve``; ``dtms serve`` is its alias): the DTMS API
server, mounted as DTMS's ``web_routes``.

On a serving host no strategy trades: DTMS does not start its local or remote strategy
there. It builds the API server (:func:`dtms_plugin.server.create_app`) over the host, so
the engine runs on the host's broker connection, market and clock, and hands the host that
application to mount. The server's own monitoring loop evaluates the registered trades
every ``--monitor-seconds`` (default ``[plugin.dtms] monitor_seconds``).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from hookspecs import ConfigError, HostView, ServeOptions

from .settings import DtmsSettings

if TYPE_CHECKING:
    from aiohttp import web

    from .server import ServerSettings

log = logging.getLogger("dtms_plugin.server")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; a name or an empty host (every address) is
    not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(options: ServeOptions, settings: ServerSettings) -> None:
    """Serving beyond this machine without a token hands trade management to anyone who
    reaches the port (docs/dtms.md: the server binds 127.0.0.1 by default). Refused
    unless ``--insecure-no-token`` says the user means it."""
    if is_loopback(options.bind) or settings.resolve_token() is not None:
        return
    if options.insecure:
        log.warning(
            "serving %s without a token (--insecure-no-token): anyone who reaches it can"
            " register and unregister trades",
            options.bind,
        )
        return
    raise ConfigError(
        f"--host {options.bind} is not a loopback address and no token is set: set"
        f" {settings.dtms.token_env} to a secret (clients send Authorization: Bearer <it>),"
        " or pass --insecure-no-token"
    )


def server_settings(host: HostView, dtms: DtmsSettings) -> ServerSettings:
    """The API server's settings on ``host``; ConfigError names the bad value."""
    from .server import ServerSettings

    options = host.serve_options or ServeOptions()
    monitor = options.monitor_seconds or dtms.monitor_seconds
    try:
        return ServerSettings(
            dtms=dtms,
            host=options.bind,
            port=options.port,
            monitor_seconds=monitor,
            broker=options.broker,
            symbols=options.symbols,
        )
    except ValueError as exc:
        raise ConfigError(f"[plugin.dtms]: {exc}") from None


def server_app(host: HostView, dtms: DtmsSettings) -> web.Application:
    """The API server over ``host``, refused in one line when it would be exposed."""
    from .server import create_app

    settings = server_settings(host, dtms)
    check_exposure(host.serve_options or ServeOptions(), settings)
    return create_app(settings, host=host, dashboard=True)
