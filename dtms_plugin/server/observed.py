"""The host as the server's engine sees it: the one host, plus the server's bookkeeping.

The engine only knows :class:`hookspecs.HostView`. In ``dtms serve`` (the host's serve
mode) it is given the serving host itself, wrapped here so that every action and every
state change the engine reports is also counted (``/metrics``) and written to the history
behind ``GET /dtms/actions``. Everything else (broker, market, clock, settings, carrying
out an action) is the host's own: this adds bookkeeping and holds no broker of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import Action, ActionResult, Broker, Clock, DefensiveState, HostView, MarketView
from hookspecs.host import RunMode, ServeOptions, StandingClock

from ..store import StoreError, StoreProtocol
from ..store.listing import trade_fields
from .metrics import ServerMetrics


class ObservedHost:
    """A :class:`hookspecs.HostView` that delegates to ``host`` and keeps the server's
    counters and action history."""

    def __init__(
        self, host: HostView, *, store: StoreProtocol, metrics: ServerMetrics | None = None
    ) -> None:
        self._host = host
        self._store = store
        self._metrics = metrics

    @property
    def broker(self) -> Broker:
        return self._host.broker

    @property
    def market(self) -> MarketView:
        return self._host.market

    @property
    def clock(self) -> Clock:
        return self._host.clock

    @property
    def timeframe(self) -> str:
        return self._host.timeframe

    @property
    def log(self) -> logging.Logger:
        return self._host.log

    @property
    def mode(self) -> RunMode:
        return self._host.mode

    @property
    def serve_options(self) -> ServeOptions | None:
        return self._host.serve_options

    def config_for(self, plugin_name: str) -> Mapping[str, Any]:
        return self._host.config_for(plugin_name)

    def data_dir(self, plugin_name: str) -> Path:
        return self._host.data_dir(plugin_name)

    def is_defensive(self, ticket: int) -> bool:
        return self._host.is_defensive(ticket)

    async def execute(self, action: Action) -> ActionResult:
        """The host carries the action out (and logs it). The action history is written by
        the strategy once its own journal entry is settled; writing it here too would list
        every action twice."""
        result = await self._host.execute(action)
        if self._metrics is not None:
            self._metrics.action(action.kind.value, result.code.value)
        return result

    async def report_action(self, action: Action, result: ActionResult) -> None:
        """Passed on: the server's engine carries its actions out itself (``execute``)."""
        await self._host.report_action(action, result)

    async def report_state_change(
        self,
        ticket: int,
        old: DefensiveState,
        new: DefensiveState,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Counted, written to the history with its reason and score breakdown (what a
        remote host tells its plugins: docs/dtms.md §9), then told to the host. Written
        first: the record already shows the new state, and a client that reads both
        finds the entry at once rather than after the host's plugins have heard it."""
        if self._metrics is not None:
            self._metrics.transition(str(old), str(new))
        entry = {"type": "state_change", "ticket": ticket, "from": str(old), "to": str(new),
                 "reason": reason, "details": dict(details or {})}  # fmt: skip
        self.journal(entry | self._opened(ticket))
        await self._host.report_state_change(ticket, old, new, reason, details)

    def _opened(self, ticket: int) -> dict[str, Any]:
        """``opened_at`` of the trade a history entry is about: a broker hands tickets
        out again, and one ticket's history may hold an earlier trade's entries."""
        try:
            record = self._store.get_record(ticket)
        except StoreError:
            return {}
        opened = trade_fields(record).get("opened_at") if record is not None else None
        return {"opened_at": opened} if isinstance(opened, str) else {}

    def journal(self, entry: dict[str, Any]) -> None:
        """Add a state change or an unregistration to the history behind
        ``GET /dtms/actions``. A failed write is logged (by the store) and never undoes
        or hides what already happened."""
        entry["at"] = self.clock.now().isoformat()
        try:
            self._store.append_action(entry)
        except StoreError:
            self.log.error("could not journal %s for ticket %s", entry["type"], entry["ticket"])


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

    def __post_init__(self) -> None:
        #: the kinds of error said in the current episode of failed cycles (no field:
        #: the status is served as its fields, :func:`dataclasses.asdict`)
        self._said: set[str] = set()

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

    def cycle_failed(self, exc: Exception, log: logging.Logger, at: datetime) -> None:
        """Count a failed cycle and say it once for its episode, with its count when it
        ends (:meth:`cycle_succeeded`); ``/health`` says it meanwhile (:meth:`problem`).
        A failure repeats every cycle as a rule (the store out of reach, a broker that
        raises on every read): a line, let alone a traceback, per cycle buried the log
        (docs/scaling.md, "Failures"). The store's is said without a traceback (its
        message says it all), anything else with it. Another kind of error within the
        episode is said too, once: a second problem must not hide behind the first."""
        kind = type(exc).__name__
        again = self.consecutive_failures > 0 and kind in self._said
        self.failed(exc)
        if again:
            log.debug("monitoring cycle at %s failed again: %s", at.isoformat(), exc)
            return
        self._said.add(kind)
        log.error(
            "monitoring cycle at %s failed: %s: %s (said once until a cycle succeeds)",
            at.isoformat(),
            kind,
            exc,
            exc_info=None if isinstance(exc, StoreError) else exc,
        )

    def cycle_succeeded(self, at: datetime, log: logging.Logger) -> None:
        if self.consecutive_failures > 1:
            log.warning(
                "monitoring cycles succeed again, after %d failed", self.consecutive_failures
            )
        self._said.clear()
        self.succeeded(at)

    def problem(self) -> str | None:
        """The failing cycles, as ``/health`` names them (``dtms serve``'s and a serving
        host's): how many in a row and the last error; ``None`` while they pass."""
        failed = self.consecutive_failures
        if not failed:
            return None
        cycles = "cycle" if failed == 1 else f"{failed} cycles"
        return f"the last {cycles} failed: {self.last_error}"

    def running_for(self) -> float:
        started = self.cycle_started
        return 0.0 if started is None else time.monotonic() - started


def strategy_says(strategy: object, what: str) -> list[str]:
    """The strategy's list ``what`` (the local engine's ``broker_problems`` and
    ``failing_trades``; another strategy has none)."""
    said: Callable[[], list[str]] | None = getattr(strategy, what, None)
    return said() if said is not None else []


def engine_keys(strategy: object, clock: object = None) -> dict[str, Any]:
    """What ``/health`` says of the engine's trades beside its problems, the same under
    ``dtms serve`` and on a host that serves its own engine (docs/dtms.md §8): the trades
    skipped for their own failure (healthy still: one trade's problem), and what the
    engine waits for: the host's ``clock`` standing (:class:`hookspecs.StandingClock`: a
    paper account file no trading host drives, on which nothing closes, moves or is found
    gone), and the symbols whose trades the last cycle could not evaluate."""
    waiting: dict[str, str] = getattr(strategy, "waiting", None) or {}
    standing = clock.standing() if isinstance(clock, StandingClock) else None
    return {
        "failing_trades": strategy_says(strategy, "failing_trades"),
        # not unhealthy (a weekend stops every FX symbol's bars; the server works while
        # no host drives its paper account), but said
        "waiting": [
            *([standing] if standing else []),
            *(f"{why}: its trades are not evaluated" for why in waiting.values()),
        ],
    }
