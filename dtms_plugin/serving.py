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


def exposure_refusal(bind: str, token_env: str, token: str | None) -> str | None:
    """Why serving on ``bind`` with ``token`` (None: none set) is refused, or None.
    Serving beyond this machine without a token hands trade management to anyone who
    reaches the port (docs/dtms.md: the server binds 127.0.0.1 by default)."""
    if is_loopback(bind) or token is not None:
        return None
    return (
        f"--host {bind} is not a loopback address and no token is set: set"
        f" {token_env} to a secret (clients send Authorization: Bearer <it>),"
        " or pass --insecure-no-token"
    )


def check_exposure(options: ServeOptions, settings: ServerSettings) -> None:
    """Refuse :func:`exposure_refusal`'s case unless ``--insecure-no-token`` says the
    user means it."""
    refused = exposure_refusal(options.bind, settings.dtms.token_env, settings.resolve_token())
    if refused is None:
        return
    if options.insecure:
        log.warning(
            "serving %s without a token (--insecure-no-token): anyone who reaches it can"
            " register and unregister trades",
            options.bind,
        )
        return
    raise ConfigError(refused)


def refused_before_start(args: list[str]) -> str | None:
    """The refusal of :func:`check_exposure` for ``dtms serve``'s arguments, found from
    the command line, plugins.toml's ``[plugin.dtms] token_env`` and the environment
    alone: said before the host opens anything (its paper account file, DTMS's store),
    so a refused start creates no account and no state. None when the start is not
    refused for it, or when the configuration cannot be read here: the host then reads
    it and says what is wrong with it first, as before."""
    import argparse
    import os
    import tomllib
    from pathlib import Path

    from .settings import DtmsSettings
    from .tokens import served_token

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--config", default=None)
    parser.add_argument("--insecure-no-token", action="store_true")
    try:
        known, _ = parser.parse_known_args(args)
    except SystemExit:
        return None  # the host's parser says what is wrong with the flags
    if known.insecure_no_token or is_loopback(known.host):
        return None
    path = Path(known.config or "plugins.toml")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        dtms = table.get("plugin", {}).get("dtms", {})
        token_env = dtms.get("token_env", DtmsSettings.token_env)
        if "dtms" in table.get("plugins", {}).get("disabled", ()) or not isinstance(token_env, str):
            return None  # not DTMS's start to refuse
        token = served_token(token_env, os.environ)
    except (OSError, ValueError, AttributeError):  # TOMLDecodeError is a ValueError
        return None
    return exposure_refusal(known.host, token_env, token)


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
