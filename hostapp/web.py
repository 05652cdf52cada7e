"""The host's web app: one aiohttp application that mounts the routes plugins contribute
through the ``web_routes`` hook, bound to 127.0.0.1.

Why one app mounting plugins' routes: the host knows no plugin by name, so it cannot
build a plugin's pages itself; each plugin says what it serves and guards its own routes
(authentication, error bodies). The host adds only what no plugin can do for the others
(:mod:`.web_guards`: the Host check on the loopback, a failing handler said in its
plugin's name; :mod:`.web_errors`: the router's own errors as JSON). ``hostapp serve``
and ``hostapp run --live --serve`` both serve this app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from hookspecs import MAX_REQUEST_LINE_BYTES, ConfigError
from hookspecs.host import HostView

if TYPE_CHECKING:
    from aiohttp import web

    from .pluginhost import PluginHost
    from .web_connections import ConnectionLimits

#: The only address the host's web app listens on: exposing trading state beyond this
#: machine is a reverse proxy's job, with its own authentication.
BIND_HOST = "127.0.0.1"

log = logging.getLogger("hostapp.web")


class RoutesNotServed(ValueError):
    """A plugin's routes clash with routes already mounted, or aiohttp refused them: the
    plugin's failure of ``web_routes``, said in the run's summary like any other."""


#: Told, once the app listens: its URL, the plugins served and the paths they serve.
Announce = Callable[[str, list[str], list[str]], None]


def _keys(route: Any) -> list[tuple[str, str]]:
    """The (method, path) pairs a route definition claims (a static one claims GET and
    HEAD under its prefix)."""
    method = str(getattr(route, "method", "GET")).upper()
    path = str(getattr(route, "path", None) or getattr(route, "prefix", ""))
    return [(method, path)] if method != "*" else [("*", path)]


def _app_keys(sub: web.Application) -> list[tuple[str, str]]:
    """The (method, path) pairs a plugin's whole application routes, as :func:`_keys`
    says them for route definitions: the HEAD aiohttp adds beside each GET is left out,
    as a definition's ``web.get`` claims GET alone. Its routes take part in the same
    clash check as definitions: mounted at the root, they would take over another
    plugin's paths, or be shadowed by them, without a word."""
    keys = {
        (str(r.method).upper(), r.resource.canonical) for r in sub.router.routes() if r.resource
    }
    return sorted(k for k in keys if not (k[0] == "HEAD" and ("GET", k[1]) in keys))


def _mount_app(app: web.Application, sub: web.Application, *, fallback: bool) -> None:
    """Mount a plugin's whole application at the root of the host's app.

    A plugin that needs an app of its own (its middlewares, its typed state, resources
    opened and closed with the app) returns it from ``web_routes``. aiohttp mounts a
    sub-application either under a path prefix or behind a matching rule: this rule lets
    the sub-application answer the requests its router knows (a 405 included), and, for
    the first one mounted (``fallback``), every request no other plugin's route takes, so
    its own error bodies answer unknown paths."""
    from functools import partial

    from aiohttp.web_urldispatcher import AbstractRuleMatching, MatchedSubAppResource

    class Served(AbstractRuleMatching):
        async def match(self, request: web.Request) -> bool:
            if await _answers(sub, request):
                return True
            if not fallback:
                return False
            for resource in app.router.resources():
                if isinstance(resource, MatchedSubAppResource):
                    other = resource.get_info()["app"]
                    if other is not sub and await _answers(other, request):
                        return False  # another plugin's app routes this path
                    continue
                matched, allowed = await resource.resolve(request)
                if matched is not None or allowed:
                    return False
            return True

        def get_info(self) -> Any:
            return {"app": sub}

        @property
        def canonical(self) -> str:
            return "/"

    # aiohttp's public add_domain() takes only a domain rule; its _add_subapp is what
    # add_domain uses to register the resource and the sub-app's signals.
    app._add_subapp(partial(MatchedSubAppResource, Served(), sub), sub)


async def _answers(sub: web.Application, request: web.Request) -> bool:
    """Does ``sub``'s router know this path (a 405 included)?"""
    found = await sub.router.resolve(request)
    return found.http_exception is None or found.http_exception.status == 405


def web_app(
    plugins: PluginHost, host: HostView, bind: str = BIND_HOST
) -> tuple[web.Application, list[str]]:
    """The app with every plugin's routes, and the names of the plugins that serve any.

    A plugin whose routes clash with those of a plugin mounted before it (same method and
    path) serves none of them: half a plugin's pages would be worse than none. A plugin
    may also return one ``web.Application`` of its own (see :func:`_mount_app`), whose
    routes are checked the same way (:func:`_app_keys`). The host's own middlewares
    (:mod:`.web_guards`, :mod:`.web_errors`) run around every route: on the loopback
    (``bind``) the Host check, then a plugin's failing handler as a JSON 500 said in its
    name, then the router's own 404 and 405 as JSON."""
    from aiohttp import web

    from .web_errors import unrouted_json
    from .web_guards import STOPPING, Owners, Stopping, loopback_names, plugin_failures

    owners = Owners()
    guard = loopback_names(bind, owners)
    stopping = Stopping()
    failures = plugin_failures(owners, plugins, stopping)
    middlewares = [*([guard] if guard else []), failures, unrouted_json]
    app = web.Application(middlewares=middlewares)
    app[STOPPING] = stopping
    taken: dict[tuple[str, str], str] = {}
    serving: list[str] = []
    apps = 0
    for name, routes in plugins.web_routes(host):
        whole = routes[0] if len(routes) == 1 else None
        if isinstance(whole, web.Application):
            claimed = _app_keys(whole)
        else:
            whole = None
            claimed = [key for route in routes for key in _keys(route)]
        clashes = sorted({f"{m} {p} (of {taken[(m, p)]})" for m, p in claimed if (m, p) in taken})
        if clashes or len(set(claimed)) != len(claimed):
            what = ", ".join(clashes) or "the same route twice"
            plugins.failed(name, "web_routes", RoutesNotServed(f"already served: {what}"))
            continue
        try:
            if whole is not None:
                _mount_app(app, whole, fallback=apps == 0)
                owners.add_app(name, whole)
                apps += 1
            else:
                before = {id(r) for r in app.router.routes()}
                app.router.add_routes(routes)  # a GET adds a HEAD beside it: both its own
                owners.add_routes(name, [r for r in app.router.routes() if id(r) not in before])
        except (ValueError, RuntimeError, TypeError) as exc:
            plugins.failed(name, "web_routes", RoutesNotServed(str(exc)))
            continue
        taken.update(dict.fromkeys(claimed, name))
        serving.append(name)
    return app, serving


def app_runner(app: web.Application, limits: ConnectionLimits | None = None) -> web.AppRunner:
    """The runner :func:`serving` serves ``app`` with: aiohttp's own protocol errors as
    JSON (:mod:`.web_errors`), connections bounded by ``limits`` (a request's time to
    arrive, the connections open at once: :mod:`.web_connections`), and request lines up
    to ``MAX_REQUEST_LINE_BYTES`` (128 KiB, not aiohttp's 8 KiB: a plugin's query may list
    thousands of tickets, as DTMS's ``GET /dtms/trades?tickets=…`` may list 5,000; its
    document says the same number)."""
    from .web_connections import ConnectionLimits, GuardedAppRunner

    return GuardedAppRunner(
        app,
        limits=limits or ConnectionLimits(),
        access_log=None,
        handle_signals=False,
        max_line_size=MAX_REQUEST_LINE_BYTES,
    )


def served_paths(app: web.Application) -> list[str]:
    """The paths ``app`` routes, a mounted plugin's application's included, sorted."""
    from aiohttp.web_urldispatcher import MatchedSubAppResource

    paths: set[str] = set()
    for resource in app.router.resources():
        if isinstance(resource, MatchedSubAppResource):
            paths.update(served_paths(resource.get_info()["app"]))
        else:
            paths.add(resource.canonical)
    return sorted(paths)


def bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port actually bound (``asked`` unless it was 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


@asynccontextmanager
async def serving(
    plugins: PluginHost,
    host: HostView,
    port: int,
    *,
    bind: str = BIND_HOST,
    announce: Announce | None = None,
    limits: ConnectionLimits | None = None,
) -> AsyncIterator[tuple[str, list[str]]]:
    """Serve the plugins' routes on ``bind:port`` (0: any free port) for the ``with``
    block; yields the URL and the plugins served, after telling ``announce`` what is
    served. A port that cannot be bound is a :class:`ConfigError` naming it. ``limits``:
    the connections' bounds (:class:`.web_connections.ConnectionLimits`' defaults)."""
    from aiohttp import web

    from .web_guards import STOPPING

    app, names = web_app(plugins, host, bind)
    runner = app_runner(app, limits)
    await runner.setup()
    try:
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {bind}:{port}: {exc}") from None
        url = f"http://{bind}:{bound_port(runner, port)}/"
        paths = served_paths(app)
        log.info("serving on %s: routes of %s", url, ", ".join(names) or "no plugin")
        if announce is not None:
            announce(url, names, paths)
        yield url, names
    finally:
        app[STOPPING].now = True  # what the stop cuts off is a 503, no plugin's failure
        await runner.cleanup()
