"""The server as a host: what the local engine sees when it runs inside ``dtms serve``.

The local strategy only knows :class:`hookspecs.HostView`. Giving it one here, backed by
the server's own broker connection, market and clock, means the engine runs unchanged in
the trading host and in the server. Actions go through :func:`hookspecs.apply_action`, the
one definition of what each action kind does, so the two can never disagree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import (
    Action,
    ActionResult,
    Broker,
    Clock,
    DefensiveState,
    MarketView,
    apply_action,
)
from hookspecs.events import log_action, log_transition, score_from_reason

from ..store import StoreError, StoreProtocol
from .metrics import ServerMetrics


class HeadlessHost:
    """A :class:`hookspecs.HostView` without a trading loop: the DTMS server's host."""

    def __init__(
        self,
        *,
        broker: Broker,
        market: MarketView,
        clock: Clock,
        store: StoreProtocol,
        log: logging.Logger,
        timeframe: str,
        plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._broker = broker
        self._market = market
        self._clock = clock
        self._timeframe = timeframe
        self._store = store
        self._log = log
        self._plugin_config = dict(plugin_config or {})

    @property
    def broker(self) -> Broker:
        return self._broker

    @property
    def market(self) -> MarketView:
        return self._market

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def timeframe(self) -> str:
        return self._timeframe

    @property
    def log(self) -> logging.Logger:
        return self._log

    def config_for(self, plugin_name: str) -> Mapping[str, Any]:
        return dict(self._plugin_config.get(plugin_name, {}))

    def data_dir(self, plugin_name: str) -> Path:
        """Where a plugin keeps its state beside the server: ``.hostapp/NAME``, as in a
        live host (the server's own store is ``[plugin.dtms] state_dir``)."""
        return Path(".hostapp") / plugin_name

    async def execute(self, action: Action) -> ActionResult:
        """Apply ``action`` on the broker and log it (``apply_action`` turns a broker that
        raises into an unknown outcome, as the contract promises callers).

        The action history (``GET /dtms/actions``) is written by the strategy, which
        appends each action with its result once its own journal entry is settled;
        writing it here too would list every action twice."""
        result = apply_action(self._broker, action)
        # observability: one structured event and one counter per action
        if self._metrics is not None:
            self._metrics.action(action.kind.value, result.code.value)
        log_action(self._log, action, result, self._symbol_of(action.ticket))
        return result

    async def report_state_change(
        self, ticket: int, old: DefensiveState, new: DefensiveState, reason: str
    ) -> None:
        # observability: one structured event and one counter per transition
        if self._metrics is not None:
            self._metrics.transition(str(old), str(new))
        record = self._record(ticket)
        stored = record.get("last_score") if record else None
        score = score_from_reason(reason)
        if score is None and isinstance(stored, int | float):
            score = float(stored)
        symbol = self._symbol_of(ticket, record)
        log_transition(self._log, ticket, old, new, reason, symbol=symbol, score=score)
        self.journal(
            {
                "type": "state_change",
                "ticket": ticket,
                "from": str(old),
                "to": str(new),
                "reason": reason,
            }
        )

    def _record(self, ticket: int) -> dict[str, Any] | None:
        """The stored record, for the fields of a log event; never fails the caller."""
        try:
            return self._store.get_record(ticket)
        except StoreError:
            return None

    def _symbol_of(self, ticket: int, record: Mapping[str, Any] | None = None) -> str | None:
        record = record if record is not None else self._record(ticket)
        if record is None:
            return None
        nested = record.get("trade")
        fields = nested if isinstance(nested, Mapping) else record
        symbol = fields.get("symbol")
        return symbol if isinstance(symbol, str) else None

    def journal(self, entry: dict[str, Any]) -> None:
        """Add a state change or an unregistration to the history behind
        ``GET /dtms/actions``. A failed write is logged (by the store) and never undoes
        or hides what already happened."""
        entry["at"] = self._clock.now().isoformat()
        try:
            self._store.append_action(entry)
        except StoreError:
            self._log.error("could not journal %s for ticket %s", entry["type"], entry["ticket"])


@dataclass
class MonitorStatus:
    """What ``/health`` and ``/dtms/status`` report about the monitoring loop.

    Written only by the engine thread, read by the HTTP side: plain attribute reads and
    writes, each atomic, so no lock is needed for a status snapshot.
    """

    running: bool = False
    cycles: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_cycle_at: str | None = None  # engine clock (replayed time in a replay)
    cycle_started: float | None = None  # time.monotonic() while a cycle runs
    stopped_reason: str | None = None

    def begin(self) -> None:
        self.cycle_started = time.monotonic()

    def succeeded(self, at: datetime) -> None:
        self.cycles += 1
        self.consecutive_failures = 0
        self.last_cycle_at = at.isoformat()
        self.cycle_started = None

    def failed(self, exc: BaseException) -> None:
        self.cycles += 1
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.cycle_started = None

    def running_for(self) -> float:
        started = self.cycle_started
        return 0.0 if started is None else time.monotonic() - started
