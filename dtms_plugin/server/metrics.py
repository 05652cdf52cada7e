"""Prometheus metrics of the DTMS API server, served at ``GET /metrics``.

Why a registry per app and not prometheus-client's global one: tests build many apps in
one process, and a process may embed several servers; a global registry would mix their
counters and refuse to register a metric name twice.

What is counted where:

* trades per state: a gauge computed from the store at scrape time, so it is never stale
  and costs nothing between scrapes;
* transitions and actions: counters, incremented by the server's
  :class:`~dtms_plugin.server.observed.ObservedHost`, where the engine reports state
  changes and executes actions;
* evaluation latency: a histogram around each monitoring cycle (``DtmsService._cycle``);
* registrations waiting for an engine round, and how many each round took together
  (:mod:`~dtms_plugin.server.rounds`): a host catching up shows as a queue, and rounds
  that take many at once are what keeps it short;
* HTTP requests: a counter in a middleware, labelled with the route's canonical path
  (``/dtms/trade/{ticket}``, never the raw URL, so a scanner cannot blow up the series)
  and the status code.

Client-side numbers (outbox depth, registration retries) belong to the trading host's
process and live in :mod:`dtms_plugin.metrics`; the server has no outbox and omits them.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from hookspecs import DefensiveState

from .query import check_names

if TYPE_CHECKING:
    from ..store import StoreProtocol

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Seconds; monitoring cycles range from sub-millisecond (nothing open) to seconds (a
#: slow broker), so the buckets span both.
EVALUATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Registrations per engine round: one (a lone POST) up to the API's batch maximum.
ROUND_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 200)

#: The route label of a request no route matched (404s, scanners).
UNMATCHED = "<unmatched>"


class _TradesPerState(Collector):
    """``dtms_trades{state=…}`` read from the store when Prometheus scrapes."""

    def __init__(self, store: Callable[[], StoreProtocol | None]) -> None:
        self._store = store

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "dtms_trades", "Managed trades per DTMS state (from the store)", labels=["state"]
        )

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering the collector does not read the store."""
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        store = self._store()
        counts: Tally[str] = Tally()
        if store is not None:
            for entry in store.listing().values():  # its state, no record decoded
                if entry.state is not None:
                    counts[entry.state] += 1
        for state in DefensiveState:
            family.add_metric([state.value], counts.get(state.value, 0))
        yield family


class ServerMetrics:
    """The metrics of one server app, in their own :class:`CollectorRegistry`."""

    def __init__(self, store: Callable[[], StoreProtocol | None] = lambda: None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.transitions = Counter(
            "dtms_transitions",
            "DTMS state transitions by old and new state",
            ["from", "to"],
            registry=self.registry,
        )
        self.actions = Counter(
            "dtms_actions",
            "Actions executed on the broker, by kind and result code",
            ["kind", "result"],
            registry=self.registry,
        )
        self.registrations = Counter(
            "dtms_registrations",
            "Registration requests by outcome (created, already_registered)",
            ["outcome"],
            registry=self.registry,
        )
        self.registrations_waiting = Gauge(
            "dtms_registrations_waiting",
            "Registrations waiting for an engine round (queued behind the one running)",
            registry=self.registry,
        )
        self.registration_rounds = Histogram(
            "dtms_registration_round_size",
            "Registrations each engine round took together (one store transaction each)",
            buckets=ROUND_BUCKETS,
            registry=self.registry,
        )
        self.evaluation = Histogram(
            "dtms_evaluation_seconds",
            "Wall time of one monitoring cycle (evaluate every managed trade)",
            buckets=EVALUATION_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "dtms_http_requests",
            "HTTP requests by method, route (canonical path) and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.registry.register(_TradesPerState(store))
        #: the two counters above, summed since the app started: the original server's
        #: ``performance.state_transitions`` and ``actions_executed`` (original.py)
        self.transitions_total = 0
        self.actions_total = 0

    def transition(self, old: str, new: str) -> None:
        self.transitions.labels(str(old), str(new)).inc()
        self.transitions_total += 1

    def action(self, kind: str, result: str) -> None:
        """One action the broker answered, whatever its result: the original counted
        every action its executor ran, failed ones too."""
        self.actions.labels(str(kind), str(result)).inc()
        self.actions_total += 1

    def observe_cycle(self, seconds: float) -> None:
        self.evaluation.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_of(request: web.Request) -> str:
    """The canonical path of the route that matched ``request`` (bounded cardinality)."""
    info = request.match_info
    if getattr(info, "http_exception", None) is not None:
        return UNMATCHED
    route = info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else UNMATCHED


def metrics_middleware(metrics: ServerMetrics) -> Middleware:
    """Count every request by route and status, errors (raised or returned) included."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.http_requests.labels(request.method, route_of(request), str(status)).inc()

    return middleware


def metrics_handler(metrics: ServerMetrics) -> Handler:
    """``GET /metrics``: the Prometheus text exposition format."""

    async def handler(request: web.Request) -> web.Response:
        # none taken: a scraper's ``name[]=`` filter would otherwise read as applied
        check_names(request.query)
        body = metrics.render()
        response = web.Response(body=body)
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        response.charset = "utf-8"
        return response

    return handler


class Stopwatch:
    """``with Stopwatch(metrics.observe_cycle): …`` times a block on the monotonic clock."""

    def __init__(self, observe: Callable[[float], None]) -> None:
        self._observe = observe
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._observe(time.perf_counter() - self._start)
