"""The ``[host.mt5]`` table and the lazy import of the MetaTrader5 API.

The module is imported only when the mt5 broker is actually used, so ``hostapp`` installs
and runs on machines without it (the ``mt5`` extra installs nothing on Linux).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal

from hookspecs import BrokerError, ConfigError, install_hint, parse_settings

from ..durations import AT_MOST, MAX_SECONDS, is_duration
from ..market.zones import parse_zone

WHERE = "plugins.toml [host.mt5]"

#: pyproject.toml's extra of each terminal package
EXTRAS = {"MetaTrader5": "mt5", "mt5linux": "mt5linux"}


def not_installed(name: str) -> str:
    """``name`` (a terminal package) is missing, and the command that installs it. A
    function, not a constant: the command names the project folder, looked up (a file
    read) only when it is said."""
    if name == "MetaTrader5":
        return (
            f"MetaTrader5 is not installed: {install_hint('mt5')} (Windows only) "
            'or use module = "mt5linux"'
        )
    return f"{name} is not installed: {install_hint(EXTRAS.get(name, name))}"


def reinstall(name: str) -> str:
    """How ``name`` is installed at a version that imports (pyproject.toml's extras)."""
    if name == "MetaTrader5":
        return install_hint("mt5", force=True)
    if name == "mt5linux":
        return f"{install_hint('mt5linux')} (it pins mt5linux>=0.2.4,<1.1)"
    return f"pip install {name}"


#: How the mt5linux bridge server is started (docs/mt5.md, "Linux, through mt5linux").
START_BRIDGE = "start it under Wine with: wine python.exe -m mt5linux"


#: The most sends of one operation: the wait before each retry doubles, so the tenth is
#: already 256 times the first (``retry_delay_seconds``); the twentieth waited days.
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class Mt5Settings:
    """Connection and order defaults. The password is never here: only the *name* of the
    environment variable holding it, so plugins.toml can be committed."""

    module: Literal["MetaTrader5", "mt5linux"] = "MetaTrader5"
    path: str = ""  # terminal64.exe; empty: the terminal the package finds itself
    login: int = 0  # 0: stay on the account the terminal is logged in to
    server: str = ""
    password_env: str = "MT5_PASSWORD"
    host: str = "localhost"  # mt5linux server
    port: int = 18812
    magic: int = 240_617
    deviation: int = 20  # points; what it bounds per execution mode: docs/mt5.md, "Deviation"
    comment: str = "hostapp"
    timeout_ms: int = 60_000
    max_attempts: int = 3  # sends per operation on requotes / unknown outcomes
    retry_delay_seconds: float = 0.5  # doubled after each retry
    resolve_seconds: float = 10.0  # how long an unknown outcome is looked for on the server
    server_utc_offset_minutes: int | None = None  # None: date it from fresh ticks
    #: the server clock's time zone, summer time included (``America/New_York+7``, the
    #: "New York close" clock of many brokers; ``Europe/Athens``): history from before a
    #: switch is read with its own offset; empty: the offset alone
    server_timezone: str = ""
    offset_probe_seconds: float = 10.0  # how long start-up waits for a fresh tick
    offset_recheck_minutes: float = 30.0  # re-date the server clock this often
    time_symbols: tuple[str, ...] = ()  # symbols whose ticks date the server clock

    def __post_init__(self) -> None:
        if self.login < 0:
            raise ValueError(f"login: expected an account number >= 0, got {self.login}")
        if not self.password_env.strip():
            raise ValueError("password_env: name the environment variable holding the password")
        if not 0 < self.port < 65536:
            raise ValueError(f"port: expected 1..65535, got {self.port}")
        if self.magic < 0:
            raise ValueError(f"magic: expected >= 0, got {self.magic}")
        if self.deviation < 0:
            raise ValueError(f"deviation: expected >= 0 points, got {self.deviation}")
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS:
            raise ValueError(
                f"max_attempts: expected 1..{MAX_ATTEMPTS} (the wait doubles after each"
                f" try), got {self.max_attempts}"
            )
        for key in ("retry_delay_seconds", "resolve_seconds", "offset_probe_seconds"):
            if not is_duration(getattr(self, key), zero=True):
                raise ValueError(f"{key}: expected >= 0 and {AT_MOST}, got {getattr(self, key)}")
        if not is_duration(self.offset_recheck_minutes * 60):
            raise ValueError(
                f"offset_recheck_minutes: expected > 0 and at most {MAX_SECONDS // 60:,} (a "
                f"day), got {self.offset_recheck_minutes}"
            )
        if not is_duration(self.timeout_ms / 1000):
            raise ValueError(
                f"timeout_ms: expected > 0 and at most {MAX_SECONDS * 1000:,} (a day), got "
                f"{self.timeout_ms}"
            )
        offset = self.server_utc_offset_minutes
        if offset is not None and abs(offset) > 14 * 60:
            raise ValueError(f"server_utc_offset_minutes: expected -840..840, got {offset}")
        if self.server_timezone.strip():
            if offset is not None:
                raise ValueError(
                    "server_timezone: set it or server_utc_offset_minutes, not both (the zone"
                    " gives the offset of every date)"
                )
            try:
                parse_zone(self.server_timezone)
            except ValueError as exc:
                raise ValueError(f"server_timezone: {exc}") from None

    @property
    def server_zone(self) -> tzinfo | None:
        """``server_timezone`` as a zone; ``None`` when it is not set."""
        return parse_zone(self.server_timezone) if self.server_timezone.strip() else None


def load_mt5_settings(table: Mapping[str, Any], where: str = WHERE) -> Mt5Settings:
    """Parse ``[host.mt5]``; a ``password`` key gets its own message saying where it goes."""
    if "password" in table:
        raise ConfigError(
            f"{where}: key 'password' is not allowed: passwords are never read from the file; "
            'put it in an environment variable and name it with password_env = "MT5_PASSWORD"'
        )
    return parse_settings(Mt5Settings, table, where)


def import_api(settings: Mt5Settings, module: object | None = None) -> Any:
    """The object with the MetaTrader5 API: the package itself, or an mt5linux client.

    ``module`` replaces the import (tests, or a caller that already imported it). For
    ``mt5linux`` a module with a ``MetaTrader5`` class is instantiated with host and port;
    anything else is taken as the API object itself.
    """
    if module is None:
        module = _imported(settings.module)
    if settings.module == "mt5linux" and isinstance(getattr(module, "MetaTrader5", None), type):
        where = f"{settings.host}:{settings.port}"
        try:
            client = module.MetaTrader5(host=settings.host, port=settings.port)  # type: ignore[attr-defined]
        except OSError as exc:
            raise BrokerError(
                f"cannot reach the mt5linux server at {where} ({exc}); {START_BRIDGE}"
            ) from exc
        except EOFError as exc:
            raise BrokerError(
                f"the server at {where} closed the connection before answering as an "
                f"mt5linux server does (EOFError: {exc}): is another program listening on "
                f"that port? {START_BRIDGE}"
            ) from exc
        except Exception as exc:  # rpyc's own errors: anything but an mt5linux server
            raise BrokerError(
                f"the mt5linux client failed to connect to {where} "
                f"({type(exc).__name__}: {exc}); {START_BRIDGE}"
            ) from exc
        extend_rpyc_timeout(client, settings.timeout_ms / 1000 + RPYC_MARGIN_SECONDS)
        return client
    return module


def _imported(name: str) -> object:
    """The package ``name``. Not installed is said as such; one that is installed and
    fails to import (a release written for a newer Python: a SyntaxError; a dependency
    missing) is one line naming the package, its version and this Python, never a
    traceback."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise BrokerError(_broken(name, exc)) from exc
        raise BrokerError(not_installed(name)) from exc
    except Exception as exc:
        raise BrokerError(_broken(name, exc)) from exc


def _broken(name: str, exc: Exception) -> str:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "of unknown version"
    python = ".".join(map(str, sys.version_info[:3]))
    what = " ".join(f"{type(exc).__name__}: {exc}".split())
    return (
        f"{name} {version} is installed but cannot be imported on Python {python} ({what}); "
        f"install a version that can: {reinstall(name)}"
    )


#: Seconds an rpyc call may take beyond the terminal's own ``timeout_ms``.
RPYC_MARGIN_SECONDS = 10.0


def extend_rpyc_timeout(client: object, seconds: float) -> None:
    """Raise the rpyc connection's ``sync_request_timeout`` (30 s by default) to
    ``seconds``: otherwise an ``initialize``/``login`` the terminal is allowed to spend
    ``timeout_ms`` on is cut off by rpyc first. The mt5linux client keeps its connection
    in the private ``__conn`` attribute; a client without one is left as it is."""
    conn = getattr(client, "_MetaTrader5__conn", None)
    config = getattr(conn, "_config", None)
    if isinstance(config, dict):
        config["sync_request_timeout"] = max(
            float(config.get("sync_request_timeout") or 0), seconds
        )


def close_rpyc(client: object) -> None:
    """Close an mt5linux client's rpyc connection (its private ``__conn``), which may be
    closed already; a client without one is left as it is."""
    conn = getattr(client, "_MetaTrader5__conn", None)
    close = getattr(conn, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # a connection that is gone may say so
            close()
