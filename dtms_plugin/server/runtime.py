"""What the server's engine trades on: a broker, a market and a clock.

A module of its own so that the service (which uses a runtime) and whatever builds one
from configuration do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hookspecs import Broker, Clock, MarketView


@dataclass
class Runtime:
    """What the engine trades on. ``close`` releases the broker connection."""

    broker: Broker
    market: MarketView
    clock: Clock
    close: Callable[[], None] | None = None
