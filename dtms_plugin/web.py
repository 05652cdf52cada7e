"""What DTMS serves on the host's web app (the ``web_routes`` hook).

With the local strategy the engine runs in the host's process and its store is here:
DTMS serves its dashboard over that store (the page, ``GET /dtms/trades``,
``/dtms/trade/{ticket}``, ``/dtms/status``, ``/dtms/actions``, ``/metrics``) beside
``/health`` and ``/openapi.json`` (the document of these reads); a registration is a 501
that names ``dtms serve``, which registers programs' trades. With the remote strategy
the trades live on the DTMS server, whose own dashboard ``/`` redirects to; ``/metrics``
here carries the host's client-side numbers (outbox depth, registration retries).

The host's app is shared with other plugins and adds no middleware, so each handler is
wrapped here in the same metrics, JSON-error, browser (``Host`` and ``Origin``: a page of
another site, its name rebound to 127.0.0.1, is refused) and bearer-token middlewares as
``dtms serve`` (the token from ``[plugin.dtms] token_env``; the page, its assets and
``/health`` are public).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from hookspecs import HostView

from .checks import Checks
from .metrics import ClientMetrics
from .server.dashboard import ASSETS, _asset_handler, store_status, trades_answer
from .server.dashboard import _wall_clock_mode as wall_clock_mode
from .server.errors import error_body
from .server.metrics import ServerMetrics, metrics_handler, metrics_middleware
from .server.middleware import (
    Handler,
    auth_middleware,
    browser_guards,
    error_middleware,
    json_error,
)
from .server.observed import MonitorStatus, ObservedHost, engine_keys, strategy_says
from .server.openapi import document
from .server.original import actions_answer, health_keys, performance_keys, status_keys
from .server.query import actions_query, check_names
from .server.refused import Refusals, refused_middleware
from .server.routes import CLOSE_PATH, TICKET_PATH, answer, not_found
from .server.settings import DEFAULT_HOST, ServerSettings
from .server.validation import parse_ticket_text
from .server.views import last_journal_entry, trade_view
from .settings import DtmsSettings
from .store import StoreProtocol
from .strategy import Strategy
from .tokens import served_token


class _Forward:
    """A collector that re-exports another registry's metrics (the strategy's client
    metrics) in the served registry, so ``/metrics`` is one exposition."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()

    def describe(self) -> Iterator[Any]:
        yield from self._registry.collect()


def _guarded(handler: Handler, middlewares: Sequence[Middleware]) -> Handler:
    """``handler`` behind ``middlewares`` (the first is outermost), as an app would run it."""
    for middleware in reversed(middlewares):
        handler = _behind(middleware, handler)
    return handler


def _behind(middleware: Middleware, inner: Handler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await middleware(request, inner)

    return handler


@dataclass
class EngineWatch:
    """The local engine's cycles on a host that serves the dashboard, kept as ``dtms
    serve``'s monitor keeps its own (the same :class:`MonitorStatus`): each one timed
    (``dtms_evaluation_seconds``), counted, a failure (the host's deadline stopping it
    included) counted as one, and the engine time of the last that went through
    (``/dtms/status``'s ``last_check``, ``/health``)."""

    metrics: ServerMetrics
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: MonitorStatus = field(default_factory=lambda: MonitorStatus(running=True))

    async def cycle(self, strategy: Strategy, host: HostView, now: datetime) -> None:
        """``strategy``'s cycle at ``now`` (nothing when it has nothing to watch), timed."""
        status = self.status
        status.begin()
        start = time.perf_counter()
        try:
            if not strategy.quiet_cycle(now):
                await strategy.on_cycle(host, now)
        except BaseException as exc:  # a deadline's cancellation is a failed cycle too
            status.failed(exc)
            raise
        else:
            status.succeeded(now)
        finally:
            self.metrics.observe_cycle(time.perf_counter() - start)

    def status_keys(self, states: dict[str, int], checks: Checks | None) -> dict[str, Any]:
        """``summary`` and ``dtms_status`` of ``/dtms/status``, with this engine's figures
        (``checks``: its evaluations and scorings)."""
        status = self.status
        uptime = datetime.now(UTC) - self.started_at
        return status_keys(
            states,
            running=True,
            uptime=uptime,
            performance={
                "cycles": status.cycles,
                "failed_cycles": status.failures,
                **performance_keys(uptime=uptime, checks=checks, metrics=self.metrics),
            },
            last_check=status.last_cycle_at,
        )


def observed(host: HostView, strategy: Strategy) -> tuple[HostView, EngineWatch]:
    """``host`` as the local engine should see it on a host that serves the dashboard:
    its transitions and actions counted (``/metrics``) and its transitions kept in the
    history the page shows, as ``dtms serve`` does; and the watch over its cycles (the
    counters with it), for :func:`routes`."""
    store: StoreProtocol = getattr(strategy, "store")  # noqa: B009 - both strategies have one
    metrics = ServerMetrics(lambda: store)
    return ObservedHost(host, store=store, metrics=metrics), EngineWatch(metrics)


def routes(
    strategy: Strategy | None,
    settings: DtmsSettings | None,
    now: Callable[[], datetime] | None = None,
    watch: EngineWatch | None = None,
) -> list[web.RouteDef]:
    """The routes for the started ``strategy``; none before it started (or when its
    startup failed: there is nothing to show). ``now``: the host's clock, which the
    engine stamps the account's defensive mode with (a paper run's data time).
    ``watch``: the local engine's cycles and counters (:func:`observed`)."""
    if strategy is None or settings is None:
        return []
    store: StoreProtocol = getattr(strategy, "store")  # noqa: B009 - both strategies have one
    token = served_token(settings.token_env)  # refused at start-up when blank (plugin.py)
    watch = watch or EngineWatch(ServerMetrics(lambda: store))
    metrics = watch.metrics
    client = getattr(strategy, "metrics", None)
    if isinstance(client, ClientMetrics):
        metrics.registry.register(_Forward(client.registry))
    # the host's app listens on 127.0.0.1 only (the web_routes hook, docs/plugins.md)
    browser = browser_guards(token, DEFAULT_HOST)
    guards = [
        metrics_middleware(metrics),
        refused_middleware(Refusals()),  # the client's mistakes, once per episode
        error_middleware,
        *browser,
        auth_middleware(token),
    ]
    writes: list[tuple[str, Handler]] = []
    if strategy.name == "remote":
        table = _remote(settings.api_url, metrics, getattr(strategy, "health", None))
    else:
        clock = now or (lambda: datetime.now(UTC))
        table = _local(store, watch, clock, token is not None, strategy)
        writes = [(path, _not_here) for path in REGISTRATION_PATHS]
    # HEAD on every read, as on dtms serve (RFC 9110; uptime monitors ask with it)
    reads = [web.get(p, _guarded(h, guards)) for p, h in table]
    posts = [web.post(p, _guarded(h, guards)) for p, h in writes]
    # the unregistration route too, when the registrations are refused here
    deletes = [web.delete(TICKET_PATH, _guarded(_not_here, guards))] if writes else []
    return reads + posts + deletes


#: ``dtms serve``'s routes that write a program's trades: its registrations and its
#: close report (and ``DELETE /dtms/trade/{ticket}``). A host's local engine manages the
#: host's own trades (their closes it sees at its broker), and a program that registers,
#: reports the close of or unregisters one here is told where to go: a close answered
#: "nothing is served" (404) read as a wrong URL, unlike the registration's 501 beside it
REGISTRATION_PATHS = ("/dtms/trade/enable", "/dtms/trades", CLOSE_PATH)


async def _not_here(request: web.Request) -> web.Response:
    """A JSON 501, not aiohttp's plain 404 that a client would read as "not managed"."""
    message = (
        "this host's DTMS engine manages the host's own trades; register, report the close"
        " of and unregister a program's trades with a DTMS server (`dtms serve`,"
        " docs/client.md)"
    )
    return json_error(501, error_body("not served here", message))


def _remote(
    api_url: str,
    metrics: ServerMetrics,
    health_of: Callable[[], tuple[bool, dict[str, Any]]] | None,
) -> list[tuple[str, Handler]]:
    target = api_url.rstrip("/") + "/"

    async def to_server(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    async def health(request: web.Request) -> web.Response:
        """This host's view of the DTMS server: 503 while it does not answer, as
        ``dtms serve``'s own ``/health`` is while its engine is not healthy. Its query is
        not read, as the server's is not: a monitor's cache buster (``?t=123``) refused
        would read as the host down."""
        healthy, body = health_of() if health_of is not None else (True, {})
        return answer(body, 200 if healthy else 503)

    return [("/", to_server), ("/health", health), ("/metrics", metrics_handler(metrics))]


def _local(
    store: StoreProtocol,
    watch: EngineWatch,
    now: Callable[[], datetime],
    token: bool,
    strategy: Strategy,
) -> list[tuple[str, Handler]]:
    def engine_health() -> tuple[list[str], dict[str, Any]]:
        """What is wrong with the engine, and what it says of its trades, as ``dtms
        serve``'s ``/health`` says them (:func:`.server.observed.engine_keys`): its
        cycles failing, the broker reads each cycle needs failing (a cycle that works
        without them is not healthy), and the trades skipped for their own failure."""
        problems = [p for p in (watch.status.problem(),) if p is not None]
        return problems + strategy_says(strategy, "broker_problems"), engine_keys(strategy)

    async def trades(request: web.Request) -> web.Response:
        defensive, mode = wall_clock_mode(store, now())
        body = await asyncio.to_thread(  # every record's listing (or record): off the loop
            trades_answer,
            store,
            request.query,
            account_defensive=defensive,
            account_mode=mode,
            max_tickets=ServerSettings().max_batch_tickets,
        )
        return answer(body)

    async def status(request: web.Request) -> web.Response:
        check_names(request.query)  # every GET route refuses what it does not take
        at = now()
        body = store_status(store, at)
        checks = getattr(strategy, "checks", None)
        body.update(watch.status_keys(body["states"], checks))
        # the page's engine badge: as /health says it (degraded while cycles fail); the
        # engine's clock, as dtms serve's status gives it (a paper run's data time)
        problems, keys = engine_health()
        body["engine"] = {
            **body["engine"],
            "healthy": not problems,
            "problems": problems,
            "failing_trades": keys["failing_trades"],
            "waiting": keys["waiting"],  # as dtms serve's status says it
            "engine_time": at.isoformat(),
        }
        return answer(body)

    async def actions(request: web.Request) -> web.Response:
        ticket, limit = actions_query(request.query)

        # a record per ticket among them: off the event loop
        return answer(await asyncio.to_thread(actions_answer, store, ticket, limit))

    async def health(request: web.Request) -> web.Response:
        """The engine runs in the host's loop, which is alive if this answers; degraded
        (503, as ``dtms serve``'s) while its cycles fail or cannot read the broker. Its
        query is not read, as ``dtms serve``'s is not (:mod:`.server.query`): a monitor's
        cache buster (``?t=1``) refused would read as the host down."""
        status = watch.status
        problems, keys = engine_health()
        healthy = not problems
        alive = health_keys(healthy=healthy, engine_running=True, now=datetime.now(UTC))
        return answer(
            {
                **alive,
                "engine_running": True,
                "problems": problems,
                **keys,
                "strategy": "local",
                "started_at": watch.started_at.isoformat(),
                "last_cycle_at": status.last_cycle_at,
                "cycles": status.cycles,
                "failed_cycles": status.failures,
            },
            200 if healthy else 503,
        )

    async def one_trade(request: web.Request) -> web.Response:
        """As ``dtms serve`` answers it: a program's ``is_defensive`` asks this, and a
        404 for a trade the engine defends would read as "not managed"."""
        check_names(request.query)
        ticket = parse_ticket_text(request.match_info["ticket"])
        record = store.get_record(ticket)
        if record is None:
            raise not_found(ticket)
        defensive, _ = wall_clock_mode(store, now())
        last = last_journal_entry(record)
        view = trade_view(ticket, record, account_defensive=defensive, last_action=last)
        return answer(view)

    pages = [(path, _asset_handler(name, kind)) for path, (name, kind) in ASSETS.items()]
    table: list[tuple[str, Handler]] = [
        *pages,
        ("/dtms/trades", trades),
        (TICKET_PATH, one_trade),
        ("/dtms/status", status),
        ("/dtms/actions", actions),
        ("/health", health),
        ("/metrics", metrics_handler(watch.metrics)),
    ]
    served = {"/dtms/trade/{ticket}" if path == TICKET_PATH else path for path, _ in table}

    async def openapi(request: web.Request) -> web.Response:
        """The server's document, of what is served here: its reads."""
        check_names(request.query)
        full = document(token=token)
        paths = {
            path: {m: ops[m] for m in ("get", "head")}
            for path, ops in full["paths"].items()
            if path in served and "get" in ops
        }
        return web.json_response({**full, "paths": paths})

    return [*table, ("/openapi.json", openapi)]
