"""The app factory of the DTMS API server.

``create_app(settings, host=...)`` builds the server over a host (the serving host of
``dtms serve``; in tests, a host around a scripted broker and market). Resources are
opened and closed by ``cleanup_ctx`` in a fixed order (store, then the engine thread that
uses the host's broker, then the engine and its monitoring loop) and closed in the reverse
order, so the engine never runs without its store or broker, even during shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hookspecs import HostView

from .cors import cors_middleware
from .dashboard import add_dashboard
from .keys import SERVICE_KEY, SETTINGS_KEY
from .metrics import metrics_middleware
from .middleware import (
    auth_middleware,
    browser_guards,
    error_middleware,
    trailing_slash_middleware,
)
from .refused import Refusals, refused_middleware
from .routes import add_routes
from .service import DtmsService, StrategyFactory, default_strategy_factory
from .settings import ServerSettings


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE_KEY]
    await service.open_store()
    try:
        yield
    finally:
        await service.close_store()


async def _broker_ctx(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE_KEY]
    try:
        await service.open_broker()
        yield
    finally:
        await service.close_broker()


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE_KEY]
    try:
        await service.start_engine()
        yield
    finally:
        await service.stop_engine()


def create_app(
    settings: ServerSettings,
    *,
    host: HostView | None = None,
    strategy_factory: StrategyFactory = default_strategy_factory,
    log: logging.Logger | None = None,
    dashboard: bool = False,
) -> web.Application:
    """The DTMS API app over ``host`` (its broker, market and clock). Without a host the
    app serves its documents but its engine cannot start.

    ``dashboard=True`` (``dtms serve``) adds the non-JSON routes: the page at ``/``, its
    assets and ``GET /metrics``. They are off by default because the OpenAPI document
    describes the JSON API, which is all a client program needs."""
    service = DtmsService(
        settings,
        host=host,
        strategy_factory=strategy_factory,
        log=log,
    )
    refusals = Refusals()
    app = web.Application(
        middlewares=[
            metrics_middleware(service.metrics),  # outermost: sees the final status
            refused_middleware(refusals),  # the client's mistakes, once per episode
            cors_middleware(settings.dtms.cors_origins),  # its headers on errors too
            error_middleware,
            *browser_guards(settings.resolve_token(), settings.host, settings.dtms.cors_origins),
            trailing_slash_middleware,  # /health/ is public too: redirected before auth
            auth_middleware(settings.resolve_token()),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SERVICE_KEY] = service
    app[SETTINGS_KEY] = settings
    add_routes(app)
    if dashboard:
        add_dashboard(app, service.metrics)
    app.on_cleanup.append(lambda _app: _said_at_stop(refusals))
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_broker_ctx)
    app.cleanup_ctx.append(_engine_ctx)
    return app


async def _said_at_stop(refusals: Refusals) -> None:
    refusals.close()  # the counts of the last window, said before the server goes
