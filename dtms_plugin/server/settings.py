"""Settings of the DTMS API server (``dtms serve``).

Kept apart from :class:`~dtms_plugin.settings.DtmsSettings` (the engine's numbers, read
from ``[plugin.dtms]``) because these are about the process: where to listen, how often to
run the monitoring loop, what the serving host trades. The DTMS plugin fills them from
``[plugin.dtms]`` and the serving host's options (its flags).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from dtms_plugin.settings import DtmsSettings
from dtms_plugin.settings_ranges import MAX_SECONDS
from dtms_plugin.tokens import served_token

DEFAULT_HOST = "127.0.0.1"  # loopback: exposing trading state is an explicit choice
DEFAULT_PORT = 8001


@dataclass(frozen=True)
class ServerSettings:
    """Everything :func:`dtms_plugin.server.create_app` needs.

    ``token``: the bearer token; ``None`` means "read the environment variable named by
    ``dtms.token_env``" when the app is created, and an empty value there disables auth.
    ``broker``/``symbols``: the serving host's broker kind and ``[host] symbols`` (the
    symbols a paper broker trades, listed by the OpenAPI document).
    ``max_batch_tickets``: the most tickets one ``GET /dtms/trades`` may ask for.
    ``unhealthy_after_failures``/``stall_seconds``: when ``/health`` turns 503 although
    the monitoring loop still runs (that many cycles in a row failed: the last one, by
    default, as a failing cycle defends nothing; one cycle is stuck).
    """

    dtms: DtmsSettings = field(default_factory=DtmsSettings)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    monitor_seconds: float = 5.0
    token: str | None = None
    broker: str = "paper"
    symbols: tuple[str, ...] | None = None
    max_batch_tickets: int = 5000
    max_body_bytes: int = 64 * 1024
    unhealthy_after_failures: int = 1
    stall_seconds: float = 120.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.monitor_seconds) and 0 < self.monitor_seconds <= MAX_SECONDS):
            raise ValueError(
                f"monitor_seconds: must be a finite number > 0 and at most {MAX_SECONDS:,.0f}"
                f" (a day), got {self.monitor_seconds!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: must be 0..65535, got {self.port!r}")
        if self.max_batch_tickets < 1:
            raise ValueError(f"max_batch_tickets: must be >= 1, got {self.max_batch_tickets!r}")

    def resolve_token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The token requests must present, or None when auth is off (read by
        :func:`~dtms_plugin.tokens.served_token`: a ValueError for whitespace only)."""
        if self.token is not None:
            return self.token or None
        return served_token(self.dtms.token_env, environ)
