"""The DTMS service: what the HTTP routes do, without HTTP.

Reads (trade states, batches, status, history) come straight from the store, on the
server's loop, so they are answered even while the engine is busy. Commands that change
what the engine manages (register, unregister, a manual cycle) are run on the engine
thread under one lock, so they never interleave with a monitoring cycle half way through.
Registering trades, one or a client's batch, is :mod:`.registering`; registrations that
arrive together share engine rounds (:mod:`.rounds`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hookspecs import DefensiveState, HostView

from ..checks import Checks
from ..defensive import account_defensive
from ..settings import DtmsSettings
from ..settings_timeframes import for_host
from ..store import StoreProtocol
from ..store.location import open_store
from ..strategy import Strategy
from .closes import Closing
from .dashboard import batch_states
from .engine_thread import EngineThread
from .errors import EngineUnavailable
from .metrics import ServerMetrics, Stopwatch
from .observed import MonitorStatus, ObservedHost, engine_keys, strategy_says
from .original import actions_answer, health_keys, performance_keys, status_keys
from .registering import Registering
from .rounds import RegistrationRounds
from .settings import ServerSettings
from .status_settings import settings_view
from .store_health import damaged_keys, store_problems
from .unregistering import Unregistering
from .views import (
    account_mode_view,
    batch_account_mode,
    last_journal_entry,
    state_name,
    trade_view,
    with_archived,
)

if TYPE_CHECKING:  # redis's: imported only with a Redis store (open_store)
    from ..blind_spots import BlindSpots
    from .close_inbox import LeftCloses
    from .replicas import Replicas

StrategyFactory = Callable[[DtmsSettings, StoreProtocol], Strategy]


def default_strategy_factory(settings: DtmsSettings, store: StoreProtocol) -> Strategy:
    from ..local import LocalStrategy  # the engine is optional until it is needed

    # the server manages what hosts register: it adopts no position of the account
    return LocalStrategy(settings, store, adopt=False)


class DtmsService(Registering, Closing, Unregistering):
    def __init__(
        self,
        settings: ServerSettings,
        *,
        host: HostView | None = None,
        strategy_factory: StrategyFactory = default_strategy_factory,
        log: logging.Logger | None = None,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.log = log or logging.getLogger("dtms_plugin.server")
        self.monitor = MonitorStatus()
        self.engine = EngineThread()
        self._base_host = host
        self._strategy_factory = strategy_factory
        self._store: StoreProtocol | None = None
        #: Prometheus metrics of this app; the store gauge reads the open store.
        self.metrics = metrics or ServerMetrics(lambda: self._store)
        self._host: ObservedHost | None = None
        self._strategy: Strategy | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._engine_lock: asyncio.Lock | None = None  # lives on the engine loop
        self._command_lock = asyncio.Lock()  # lives on the server loop
        #: registrations waiting for an engine round, which they share (group commit)
        self._rounds = RegistrationRounds(self._round, self._command_lock, self.metrics)
        self._engine_now: datetime | None = None  # engine clock at its last step
        #: with a Redis store: this replica's leases and registrations (docs/scaling.md)
        self.replicas: Replicas | None = None
        self._left_closes: LeftCloses | None = None  # closes left for its trades
        self._consumer: asyncio.Task[None] | None = None
        #: the engine's settings, the timeframes decided for the serving host
        self._in_force: DtmsSettings = settings.dtms
        self.started_at = datetime.now(UTC)

    # ------------------------------------------------------------------ lifecycle

    @property
    def store(self) -> StoreProtocol:
        if self._store is None:
            raise EngineUnavailable("the store is not open")
        return self._store

    @property
    def strategy(self) -> Strategy | None:
        return self._strategy

    @property
    def host(self) -> ObservedHost | None:
        return self._host

    @property
    def checks(self) -> Checks | None:
        """The engine's evaluations and scorings (the local engine's; None for another)."""
        checks = getattr(self._strategy, "checks", None)
        return checks if isinstance(checks, Checks) else None

    async def open_store(self) -> None:
        dtms = self.settings.dtms
        self._store = await asyncio.to_thread(open_store, dtms.store, dtms.state_dir, self.log)
        if dtms.store:
            from ..store.redis_store import RedisStore
            from .close_inbox import LeftCloses
            from .replicas import Replicas

            assert isinstance(self._store, RedisStore)
            cycle = self.settings.monitor_seconds
            self.replicas = Replicas(
                self._store, cycle_seconds=cycle, lease_seconds=dtms.lease_seconds, log=self.log
            )
            self._left_closes = LeftCloses()  # closes other replicas leave for its trades

    async def close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    async def open_broker(self) -> None:
        """Start the engine thread, where the engine uses the host's broker (the serving
        host opened the connection and closes it)."""
        if self._base_host is None:
            raise EngineUnavailable("the DTMS server runs inside a serving host: none given")
        self.engine.start()

    async def close_broker(self) -> None:
        await self.engine.stop()

    async def start_engine(self) -> None:
        await self.engine.run(self._start_in_engine())
        if self.replicas is not None:
            from .replica_service import consume

            self._consumer = asyncio.create_task(consume(self, self.replicas))

    async def stop_engine(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        if self.engine.alive:
            await self.engine.run(self._stop_in_engine())

    async def _start_in_engine(self) -> None:
        assert self._base_host is not None
        self._engine_lock = asyncio.Lock()
        market = self._base_host.market
        self._host = ObservedHost(self._base_host, store=self.store, metrics=self.metrics)
        if self.replicas is not None:
            from .replica_service import guard_broker

            guard_broker(self._host, self.replicas)
        self._engine_now = self._host.clock.now()
        settings = for_host(
            self.settings.dtms, self._host.timeframe, market.base_timeframe, "[plugin.dtms]"
        )
        if self.replicas is not None:  # its account and settings, before anything is done
            from .replica_admission import admit_replica

            admit_replica(self.replicas, self._base_host, settings)
        view = self.replicas.view if self.replicas is not None else self.store
        self._in_force = settings
        strategy = self._strategy_factory(settings, view)
        if self.replicas is not None:
            from .replica_service import bind

            bind(self.replicas, strategy)
        await strategy.startup(self._host)
        self._strategy = strategy
        self._monitor_task = asyncio.get_running_loop().create_task(
            self._monitor_loop(), name="dtms-monitor"
        )
        self._monitor_task.add_done_callback(self._monitor_done)

    async def _stop_in_engine(self) -> None:
        task, self._monitor_task = self._monitor_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._strategy is not None and self._host is not None:
            try:
                await self._strategy.shutdown(self._host)
            except Exception:
                self.log.exception("strategy shutdown failed")
        if self.replicas is not None:
            self.replicas.release()

    # ------------------------------------------------------------------ monitoring

    async def _monitor_loop(self) -> None:
        self.monitor.running = True
        try:
            while True:
                await self._cycle()
                await asyncio.sleep(self.settings.monitor_seconds)
        except asyncio.CancelledError:
            self.monitor.stopped_reason = "stopped"
            raise
        except BaseException as exc:
            self.monitor.stopped_reason = f"died: {type(exc).__name__}: {exc}"
            raise
        finally:
            self.monitor.running = False

    def _monitor_done(self, task: asyncio.Task[None]) -> None:
        """Say loudly that the loop ended other than by a shutdown (``/health`` is 503)."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.log.critical("the monitoring loop died: %r", exc, exc_info=exc)

    async def _cycle(self) -> None:
        """One engine cycle. Exceptions are logged and counted, never fatal to the loop."""
        assert self._engine_lock is not None and self._host is not None
        assert self._strategy is not None
        async with self._engine_lock:
            now = self._host.clock.now()
            self._engine_now = now
            self.monitor.begin()
            try:
                with Stopwatch(self.metrics.observe_cycle):
                    if self.replicas is not None:
                        from .replica_service import lease_step

                        await lease_step(self.replicas, self._strategy, self._host, now)
                        assert self._left_closes is not None
                        await self._left_closes.apply(
                            self.replicas, self.store, self._apply_close_once, self._unregister_now
                        )
                    await self._strategy.on_cycle(self._host, now)
            except Exception as exc:
                self.monitor.cycle_failed(exc, self.log, now)
            else:
                self.monitor.cycle_succeeded(now, self.log)

    async def run_cycle(self) -> None:
        """Run one cycle now (on the engine thread), in addition to the scheduled ones."""
        self._require_engine()
        await self.engine.run(self._cycle())

    def _require_engine(self) -> None:
        """Commands need a monitored engine: a trade registered while nothing watches it
        would be a silent lie, so the client gets a 503 and retries (its outbox)."""
        task = self._monitor_task
        if self._strategy is None or not self.engine.alive or task is None or task.done():
            raise EngineUnavailable("the DTMS engine is not running")

    # ------------------------------------------------------------------ commands

    # ------------------------------------------------------------------ queries

    def account_defensive(self) -> bool:
        return account_defensive(self.store.get_account_mode(), self._engine_now)

    def trade(self, ticket: int) -> dict[str, Any] | None:
        record = self.store.get_record(ticket)
        if record is None:
            return None
        view = self.view(ticket, record, self.account_defensive())
        return with_archived(view, self.store.archived(ticket))

    def view(
        self, ticket: int, record: Mapping[str, Any], account_defensive: bool
    ) -> dict[str, Any]:
        """:meth:`trade` of a record already read (a batch reads the account mode once)."""
        return trade_view(
            ticket,
            record,
            account_defensive=account_defensive,
            last_action=last_journal_entry(record) or self._last_action(ticket),
        )

    def _last_action(self, ticket: int) -> Mapping[str, Any] | None:
        """The server's own journal, for records without one (another writer's)."""
        for entry in reversed(self.store.actions(ticket, limit=50)):
            if entry.get("type", "action") == "action":
                return entry
        return None

    def trades(self, tickets: list[int]) -> dict[str, Any]:
        return batch_states(
            self.store,
            tickets,
            account_defensive=self.account_defensive(),
            account_mode=self.account_mode(),
        )

    def account_mode(self) -> dict[str, Any] | None:
        """The active account defensive mode, for clients to cache (null when off)."""
        return batch_account_mode(self.store.get_account_mode(), self._engine_now)

    def actions(self, ticket: int | None, limit: int) -> dict[str, Any]:
        return actions_answer(self.store, ticket, limit)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, body)``: not healthy when the engine or its loop is not running,
        when its last cycle failed or one has been stuck for too long, or when the cycle
        could not read the broker's positions or account (a failing cycle defends
        nothing, and the host's own ``/health`` says so at once too: docs/dtms.md §8).
        A trade whose own step failed is listed under ``failing_trades``, healthy
        still: one trade's record must not take the server out of a balancer, nor make
        its clients take it for down (as a damaged key, docs/scaling.md)."""
        task = self._monitor_task
        engine_running = self.engine.alive and task is not None and not task.done()
        problems: list[str] = []
        if not engine_running:
            problems.append(self.monitor.stopped_reason or "the engine is not running")
        failing = self.monitor.problem()
        if failing and self.monitor.consecutive_failures >= self.settings.unhealthy_after_failures:
            problems.append(failing)
        stuck = self.monitor.running_for()
        if stuck > self.settings.stall_seconds:
            problems.append(f"a cycle has been running for {stuck:.0f} s")
        problems += strategy_says(self._strategy, "broker_problems")
        problems += store_problems(self.store, self.replicas)
        healthy = not problems
        return healthy, {
            **health_keys(healthy=healthy, engine_running=engine_running, now=datetime.now(UTC)),
            "engine_running": engine_running,
            "problems": problems,
            "damaged": damaged_keys(self.store),
            **engine_keys(self._strategy, self._host.clock if self._host else None),
            "monitor": self._monitor_summary(),
        }

    def _monitor_summary(self) -> dict[str, Any]:
        summary = asdict(self.monitor)
        summary.pop("cycle_started")
        summary["interval_seconds"] = self.settings.monitor_seconds
        return summary

    def status(self) -> dict[str, Any]:
        listing = self.store.listing()  # what the counts need, no record decoded
        counts = Counter(state_name(e.state) for e in listing.values())
        healthy, health = self.health()
        # what the engine scored without (a plain read of counters the engine thread
        # writes: ints and one dict copied whole under the GIL)
        blind: BlindSpots | None = getattr(self._strategy, "blind", None)
        states = {s.value: counts.get(s.value, 0) for s in DefensiveState}
        monitor = self.monitor
        uptime = datetime.now(UTC) - self.started_at
        return {
            "engine": {
                "running": healthy or self.monitor.running,
                "healthy": healthy,
                "problems": health["problems"],  # why not healthy, as /health says
                "failing_trades": health["failing_trades"],  # skipped for their own error
                # what it waits for, as /health says it: the page's badge is not green
                # while nothing is closed, moved or found gone there
                "waiting": health["waiting"],
                "strategy": getattr(self._strategy, "name", None),
                "broker": self.settings.broker,
                "started_at": self.started_at.isoformat(),
                "engine_time": self._engine_now.isoformat() if self._engine_now else None,
            },
            "monitor": self._monitor_summary(),
            "trades": len(listing),
            "archived": self.store.archived_count(),  # in no state count: kept aside
            "states": states,
            "account_mode": account_mode_view(self.store.get_account_mode(), self._engine_now),
            **({"replicas": self.replicas.status()} if self.replicas is not None else {}),
            **({"scoring": blind.summary()} if blind is not None else {}),
            "settings": settings_view(self._in_force),  # a remote host compares its own
            **status_keys(
                states,
                running=healthy or monitor.running,
                uptime=uptime,
                performance={
                    "cycles": monitor.cycles,
                    "failed_cycles": monitor.failures,
                    **performance_keys(uptime=uptime, checks=self.checks, metrics=self.metrics),
                },
                last_check=monitor.last_cycle_at,
            ),
        }
