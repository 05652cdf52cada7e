"""The host's web app: one aiohttp application that mounts the routes plugins contribute
through the ``web_routes`` hook, bound to 127.0.0.1.

Why one app mounting plugins' routes: the host knows no plugin by name, so it cannot
build a plugin's pages itself; each plugin says what it serves, guards its own routes
(authentication, error bodies) and the host only listens. ``hostapp serve`` and
``hostapp run --live --serve`` both serve this app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from hookspecs import ConfigError
from hookspecs.host import HostView

if TYPE_CHECKING:
    from aiohttp import web

    from .pluginhost import PluginHost

#: The only address the host's web app listens on: exposing trading state beyond this
#: machine is a reverse proxy's job, with its own authentication.
BIND_HOST = "127.0.0.1"

log = logging.getLogger("hostapp.web")


def _keys(route: Any) -> list[tuple[str, str]]:
    """The (method, path) pairs a route definition claims (a static one claims GET and
    HEAD under its prefix)."""
    method = str(getattr(route, "method", "GET")).upper()
    path = str(getattr(route, "path", None) or getattr(route, "prefix", ""))
    return [(method, path)] if method != "*" else [("*", path)]


def web_app(plugins: PluginHost, host: HostView) -> tuple[web.Application, list[str]]:
    """The app with every plugin's routes, and the names of the plugins that serve any.

    A plugin whose routes clash with those of a plugin mounted before it (same method and
    path) serves none of them: half a plugin's pages would be worse than none."""
    from aiohttp import web

    app = web.Application()
    taken: dict[tuple[str, str], str] = {}
    serving: list[str] = []
    for name, routes in plugins.web_routes(host):
        claimed = [key for route in routes for key in _keys(route)]
        clashes = sorted({f"{m} {p} (of {taken[(m, p)]})" for m, p in claimed if (m, p) in taken})
        if clashes or len(set(claimed)) != len(claimed):
            what = ", ".join(clashes) or "the same route twice"
            log.error("plugin %s: web_routes not served: %s", name, what)
            continue
        try:
            app.router.add_routes(routes)
        except (ValueError, RuntimeError, TypeError) as exc:
            log.error("plugin %s: web_routes not served: %s", name, exc)
            continue
        taken.update(dict.fromkeys(claimed, name))
        serving.append(name)
    return app, serving


def bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port actually bound (``asked`` unless it was 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


@asynccontextmanager
async def serving(
    plugins: PluginHost, host: HostView, port: int, *, bind: str = BIND_HOST
) -> AsyncIterator[tuple[str, list[str]]]:
    """Serve the plugins' routes on ``bind:port`` (0: any free port) for the ``with``
    block; yields the URL and the plugins served. A port that cannot be bound is a
    :class:`ConfigError` naming it."""
    from aiohttp import web

    app, names = web_app(plugins, host)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {bind}:{port}: {exc}") from None
        url = f"http://{bind}:{bound_port(runner, port)}/"
        log.info("serving on %s: routes of %s", url, ", ".join(names) or "no plugin")
        yield url, names
    finally:
        await runner.cleanup()
