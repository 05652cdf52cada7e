"""``hostapp run --live --serve``: the DTMS dashboard served by the trading host itself.

Why from the host: with the local strategy the engine runs in this process and its store
is here, so there is no ``dtms serve`` to open the page on. The host serves
:func:`dtms_plugin.server.dashboard.dashboard_app` over the DTMS plugin's own store (the
page, ``GET /dtms/trades``, ``/dtms/status``, ``/dtms/actions`` and ``/metrics``), on
127.0.0.1 only, with the bearer token from ``[plugin.dtms] token_env`` when it is set.
With the remote strategy the trades live on the DTMS server, whose own dashboard ``/``
redirects to; ``/metrics`` here then carries the host's client-side numbers (outbox
depth, registration retries).

The server starts once the plugins have started (the strategy, and so the store, exists
only then) and stops before they shut down (the store is closed then), whether the run
ends, fails or is interrupted. ``dtms_plugin`` is imported only when serving: a host
without DTMS never loads aiohttp's server side.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from hookspecs import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

    from .pluginhost import PluginHost

#: The address the dashboard listens on: loopback only, like ``dtms serve``.
BIND_HOST = "127.0.0.1"
#: ``--port`` when not given (``dtms serve`` takes 8001).
DEFAULT_PORT = 8002

log = logging.getLogger("hostapp.serve")


class _Forward:
    """A collector that re-exports another registry's metrics (the strategy's client
    metrics) in the dashboard app's registry, so ``/metrics`` is one exposition."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()

    def describe(self) -> Iterator[Any]:
        yield from self._registry.collect()


def dashboard_for(plugins: PluginHost) -> web.Application | None:
    """The dashboard app over the started DTMS plugin's store; None when DTMS has no
    strategy (disabled, or its startup failed: the caller says so)."""
    from dtms_plugin.metrics import ClientMetrics
    from dtms_plugin.server.dashboard import dashboard_app
    from dtms_plugin.server.metrics import ServerMetrics

    plugin = plugins.get("dtms")
    strategy = getattr(plugin, "strategy", None)
    settings = getattr(plugin, "settings", None)
    if strategy is None or settings is None:
        return None
    store = strategy.store
    token = os.environ.get(settings.token_env) or None
    metrics = ServerMetrics(lambda: store)
    client = getattr(strategy, "metrics", None)
    if isinstance(client, ClientMetrics):
        metrics.registry.register(_Forward(client.registry))
    if getattr(strategy, "name", "") == "remote":
        return _remote_app(settings.api_url, token, metrics)
    return dashboard_app(store, token=token, metrics=metrics)


def _remote_app(api_url: str, token: str | None, metrics: Any) -> web.Application:
    """With the remote strategy the trades, their states and history live on the DTMS
    server, which serves the dashboard itself: ``/`` sends the browser there, and this
    host serves only its client-side ``/metrics`` (outbox depth, registration retries)."""
    from aiohttp import web

    from dtms_plugin.server.metrics import metrics_handler
    from dtms_plugin.server.middleware import auth_middleware, error_middleware

    target = api_url.rstrip("/") + "/"

    async def to_server(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    app = web.Application(middlewares=[error_middleware, auth_middleware(token)])
    app.router.add_get("/", to_server, allow_head=False)
    app.router.add_get("/metrics", metrics_handler(metrics), allow_head=False)
    return app


@asynccontextmanager
async def serving(plugins: PluginHost, port: int = DEFAULT_PORT) -> AsyncIterator[str | None]:
    """Serve the dashboard on ``127.0.0.1:port`` (0: any free port) for the ``with``
    block; yields its URL, or None when DTMS did not start. A port that cannot be bound
    is a :class:`ConfigError` naming it."""
    from aiohttp import web

    app = dashboard_for(plugins)
    if app is None:
        print("hostapp: --serve: DTMS did not start, no dashboard", file=sys.stderr)
        log.error("--serve: the dtms plugin has no running strategy; no dashboard")
        yield None
        return
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, BIND_HOST, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"--serve: cannot listen on {BIND_HOST}:{port}: {exc}") from None
        bound = _bound_port(runner, port)
        url = f"http://{BIND_HOST}:{bound}/"
        print(f"hostapp: DTMS dashboard at {url}", file=sys.stderr, flush=True)
        log.info("DTMS dashboard at %s", url)
        yield url
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port actually bound (``asked`` unless it was 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
