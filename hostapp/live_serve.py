"""``hostapp run --live --serve``: the plugins' web routes served by the trading host.

Why from the host: a plugin that runs in this process (DTMS with its local strategy, its
store here) has nobody else to show its state. The host mounts every plugin's
``web_routes`` on one aiohttp app on 127.0.0.1 (:mod:`hostapp.web`); each plugin guards
its own routes.

The server starts once the plugins have started (what they serve exists only then) and
stops before they shut down, whether the run ends, fails or is interrupted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .web import serving as web_serving

if TYPE_CHECKING:
    from hookspecs.host import HostView

    from .pluginhost import PluginHost

#: ``--port`` when not given (``dtms serve`` takes 8001).
DEFAULT_PORT = 8002

log = logging.getLogger("hostapp.serve")


@asynccontextmanager
async def serving(
    plugins: PluginHost, host: HostView, port: int = DEFAULT_PORT
) -> AsyncIterator[str | None]:
    """Serve the plugins' routes on ``127.0.0.1:port`` (0: any free port) for the
    ``with`` block; yields the URL, or None when no plugin serves anything (nothing is
    then listening). A port that cannot be bound is a :class:`ConfigError` naming it."""
    if not plugins.has_impls("web_routes"):
        print("hostapp: --serve: no enabled plugin serves web routes", file=sys.stderr)
        log.error("--serve: no enabled plugin implements web_routes; nothing served")
        yield None
        return
    async with web_serving(plugins, host, port, announce=announce) as (url, _):
        yield url


def announce(url: str, names: list[str], paths: list[str]) -> None:
    """One line on stderr: what is served where, by which plugins. A dashboard is said
    only where a plugin serves ``/``: with DTMS off, ``/`` is a 404."""
    print(what_is_served(url, names, paths), file=sys.stderr, flush=True)
    log.info("serving at %s: %s (%s)", url, ", ".join(paths) or "nothing", ", ".join(names))


def what_is_served(url: str, names: list[str], paths: list[str]) -> str:
    if not names:
        return "hostapp: --serve: no plugin serves routes"
    shown = ", ".join(paths[:8]) + (f" and {len(paths) - 8} more" if len(paths) > 8 else "")
    root = "" if "/" in paths else " (no plugin serves /)"
    return f"hostapp: serving the routes of {', '.join(names)} at {url}: {shown}{root}"
