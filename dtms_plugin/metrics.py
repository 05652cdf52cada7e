"""Client-side DTMS metrics: what the trading host's process knows and the server cannot.

The remote strategy keeps registrations in a durable outbox until the server has them, and
retries failed POSTs; both numbers exist only in the host's process. Why a collector over
the store rather than a gauge the strategy sets: the outbox lives in a diskcache directory
that several processes may share, so reading its length at scrape time is always right,
whoever wrote last. Retries are an ordinary counter that the sender increments.

A host exposes these by serving :meth:`ClientMetrics.render` (for example on the
dashboard app's ``/metrics``, by passing ``registry``), in its own registry so it never
collides with the server's or prometheus-client's global one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .store import StoreProtocol


class _OutboxDepth(Collector):
    def __init__(self, store: StoreProtocol) -> None:
        self._store = store

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("dtms_client_outbox_depth", "Registrations waiting in the outbox")

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "dtms_client_outbox_depth",
            "Registrations waiting in the outbox",
            value=self._store.outbox_len(),
        )


class ClientMetrics:
    """Outbox depth (read at scrape) and registration retries (counted by the sender)."""

    def __init__(self, store: StoreProtocol, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(_OutboxDepth(store))
        self.retries = Counter(
            "dtms_client_registration_retries",
            "Registration POSTs retried after a failed attempt",
            registry=self.registry,
        )

    def registration_retry(self) -> None:
        self.retries.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
