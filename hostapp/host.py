"""The Host: what every hook receives as ``host`` (it satisfies hookspecs.HostView).

It is deliberately thin: it holds the broker, market, clock and configuration, and routes
what a plugin may ask the host to do (``execute`` an action, report a state change, report
an action a DTMS server carried out on this account) back through the PluginHost so that
every other plugin hears about it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from hookspecs import (
    Action,
    ActionKind,
    ActionResult,
    BrokerError,
    DefensiveState,
    ResultCode,
    apply_action,
)
from hookspecs.broker import Broker, re_add_order
from hookspecs.events import log_action, log_transition
from hookspecs.frozen import unshared
from hookspecs.host import Clock, MarketView, RunMode, ServeOptions

from .action_volumes import CHECKED, volume_refusal
from .config import HostConfig
from .hookcalls import CALLING
from .loop import LIVE_WINDOW, Recent
from .pluginhost import PluginHost
from .table_reads import ReadTable
from .unawaited import Started, UnawaitedActions

#: True while :meth:`Host.report_action` tells the plugins of an action carried out
#: elsewhere (the run recorder, a plugin too, leaves those out): by the call, in which
#: task the listeners run, since each listener hears a copy of its own, not the action
#: itself (hostapp.hookcalls.OWN_COPY).
_REPORTING: ContextVar[bool] = ContextVar("hostapp_reporting", default=False)

#: Tickets whose symbol the host remembers for its log events (the newest ones): a trade's
#: last events come within a few cycles of its close, so a live host needs no more.
SYMBOLS_KEPT = LIVE_WINDOW


class Host:
    """The running host as plugins see it. The trading loop builds one per run."""

    def __init__(
        self,
        broker: Broker,
        market: MarketView,
        clock: Clock,
        config: HostConfig,
        plugins: PluginHost,
        log: logging.Logger | None = None,
        *,
        mode: RunMode = "simulated",
        serve_options: ServeOptions | None = None,
    ) -> None:
        self._mode: RunMode = mode
        self._serve_options = serve_options
        self._broker = broker
        self._market = market
        self._clock = clock
        self._log = log or logging.getLogger("hostapp")
        self.config = config
        self.plugins = plugins
        #: Every action carried out through :meth:`execute`, with its result, for reports
        #: and tests; a live or serving host, which runs for months, keeps the newest
        #: :data:`~hostapp.loop.LIVE_WINDOW` (and counts all: :func:`~hostapp.loop.appended`).
        self.executed: list[tuple[Action, ActionResult]] = (
            []
            if mode == "simulated"
            else Recent((), LIVE_WINDOW, key=lambda done: done[0].kind.value)  # type: ignore[assignment]
        )
        self._symbols: dict[int, str] = {}
        #: the ``execute`` calls plugins never awaited (the summary's notes say them)
        self.unawaited = UnawaitedActions(self._log)
        #: per plugin, the keys of its table it read through :meth:`config_for`
        self.table_reads: dict[str, set[str]] = {}
        #: (ticket, action kind) → (code, how many times in a row) of a broker refusing
        #: the same action: the log tells such a run once (``log_action``).
        self._refusals: dict[tuple[int, str], tuple[str, int]] = {}
        self._listeners: list[Callable[[Action, ActionResult], None]] = []

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
        return self.config.host.timeframe

    @property
    def log(self) -> logging.Logger:
        return self._log

    @property
    def mode(self) -> RunMode:
        return self._mode

    @property
    def serve_options(self) -> ServeOptions | None:
        return self._serve_options

    @property
    def run_name(self) -> str:
        """``hookspecs.RunView``: the run's name in its command's summary."""
        return self.config.run_name

    @property
    def own_run(self) -> bool:
        """``hookspecs.RunView``: not an A/B's baseline or same-entries run, nor a sweep's."""
        return self.config.own_run

    def config_for(self, plugin_name: str) -> Mapping[str, Any]:
        """The ``[plugin.NAME]`` table (a copy; empty when absent), noting which keys the
        plugin reads (:mod:`hostapp.table_reads`)."""
        read = self.table_reads.setdefault(plugin_name, set())
        return ReadTable(self.config.table_for(plugin_name), read)

    def data_dir(self, plugin_name: str) -> Path:
        """``<data_root>/<plugin_name>``: the run's own root in a simulated run."""
        return Path(self.config.data_root) / plugin_name

    def is_defensive(self, ticket: int) -> bool:
        """The ``is_defensive`` hook with its fail-safe (:meth:`PluginHost.is_defensive`)."""
        return self.plugins.is_defensive(self, ticket)

    def add_listener(self, listener: Callable[[Action, ActionResult], None]) -> None:
        """Call ``listener(action, result)`` after each action the broker answered, before
        the plugins hear of it: how the trading loop learns that a phase of its cycle
        acted, so it looks for closed positions only then."""
        self._listeners.append(listener)

    def execute(self, action: Action) -> Coroutine[Any, Any, ActionResult]:
        """Carry ``action`` out at the broker, tell every plugin (``on_action``), return
        the result. Broker refusals come back as results, never as exceptions. What the
        host carries out and records is a copy of its own: the planner's action stays the
        planner's (hookspecs.frozen.unshared). Its ``source`` is the plugin whose hook
        called (:data:`~hostapp.hookcalls.CALLING`), whatever the action said; outside any
        hook (a web route's handler, a test) it keeps what it says. A coroutine function
        (marked so below), whose coroutine says so when a plugin drops it unawaited
        (:mod:`hostapp.unawaited`)."""
        started: Started = [False]
        coro = self._execute(action, started)
        self.unawaited.watch(coro, started, action, CALLING.get())
        return coro

    async def _execute(self, action: Action, ran: Started) -> ActionResult:
        ran[0] = True
        action = unshared(action)
        caller = CALLING.get()  # the plugin whose hook is running: the action is its
        if caller is not None and action.source != caller:
            action = self.plugins.claimed(caller, action, "an action")
        symbol = self._symbol_of(action.ticket)  # before: a close removes the position
        started = time.monotonic()
        result = self._vetoed(action) or apply_action(self._broker, action)
        # the broker's time, not the calling plugin's: its hook's deadline moves by it
        self.plugins.broker_time.add(time.monotonic() - started)
        self.executed.append((action, result))
        for listener in self._listeners:
            listener(action, result)
        in_a_row, ends = self._refusal_run(action, result)
        log_action(self._log, action, result, symbol, in_a_row=in_a_row, ends=ends)
        told = _REPORTING.set(False)  # a listener of a reported action may act itself
        try:
            await self.plugins.on_action(self, action, result)
        finally:
            _REPORTING.reset(told)
        return result

    async def report_action(self, action: Action, result: ActionResult) -> None:
        """Tell every plugin (``on_action``) of an action carried out elsewhere: a DTMS
        server's, on this account, reported by DTMS's remote strategy. Logged as
        :meth:`execute` logs, marked reported; no broker call. Not in :attr:`executed`,
        so the run's action rows and ``actions_by_source`` stay this host's, and the loop's
        listeners are not told: a position it closed was closed outside this host, and
        the loop reports it ``external``, as it did before such actions were heard."""
        symbol = self._symbol_of(action.ticket)
        in_a_row, ends = self._refusal_run(action, result)
        log_action(self._log, action, result, symbol, in_a_row=in_a_row, ends=ends, reported=True)
        told = _REPORTING.set(True)
        try:
            await self.plugins.on_action(self, action, result)
        finally:
            _REPORTING.reset(told)

    def reported(self, action: Action) -> bool:
        """Is ``action``, which an ``on_action`` listener is hearing, one
        :meth:`report_action` is telling (carried out elsewhere)? Asked during that call."""
        return _REPORTING.get()

    def _vetoed(self, action: Action) -> ActionResult | None:
        """The result of an action the host refuses before the broker is called, or
        ``None``. A ``re_add`` opens a new entry, so the plugins' ``allow_order`` is asked
        about it as about any other (a risk limit, the account's defensive mode); a veto
        is the action's result, ``vetoed``. A ``partial_close`` or ``hedge`` is not asked
        (it reduces or offsets exposure), so one whose volume would not is refused
        (:mod:`hostapp.action_volumes`): a part at or above the position's volume, a
        hedge above it."""
        if action.kind is not ActionKind.RE_ADD and action.kind not in CHECKED:
            return None
        try:
            position = self._broker.position(action.ticket)
        except BrokerError:
            return None  # apply_action meets the same error and says so as its result
        if position is None:
            return None
        if action.kind is not ActionKind.RE_ADD:
            return volume_refusal(action, position)
        veto = self.plugins.veto(self, re_add_order(position, action))
        if veto is None:
            return None
        return ActionResult.failure(ResultCode.VETOED, f"vetoed by {veto.reason}")

    def _refusal_run(self, action: Action, result: ActionResult) -> tuple[int, int]:
        """``(in_a_row, ends)`` for :func:`~hookspecs.events.log_action`: how many times in
        a row the broker has now refused this action on this ticket with this code, and
        how many refusals of another answer (or a success) this one ends."""
        key = (action.ticket, action.kind.value)
        code, count = self._refusals.pop(key, ("", 0))
        if result.ok:
            return 1, count
        if code == result.code.value:
            self._refusals[key] = (code, count + 1)
            return count + 1, 0
        if len(self._refusals) >= SYMBOLS_KEPT:  # the oldest first: dicts keep order
            del self._refusals[next(iter(self._refusals))]
        self._refusals[key] = (result.code.value, 1)
        return 1, count

    async def report_state_change(
        self,
        ticket: int,
        old: DefensiveState,
        new: DefensiveState,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        data = dict(details or {})
        total = data.get("total")
        score = float(total) if isinstance(total, int | float) else None
        symbol = self._symbol_of(ticket)
        log_transition(self._log, ticket, old, new, reason, symbol=symbol, score=score)
        await self.plugins.on_state_change(self, ticket, old, new, reason, data)

    def _symbol_of(self, ticket: int) -> str | None:
        """The position's symbol for a log event's fields; a log line never fails a trade.

        Remembered per ticket, so the event of a trade that was just closed (CLOSED, or
        the close action itself) still names its symbol."""
        symbol = self._symbols.get(ticket)
        if symbol is not None:
            return symbol
        try:
            trade = self._broker.position(ticket)
        except Exception:
            return None
        if trade is None:
            return None
        if len(self._symbols) >= SYMBOLS_KEPT:  # the oldest ticket first: dicts keep order
            del self._symbols[next(iter(self._symbols))]
        self._symbols[ticket] = trade.symbol
        return trade.symbol


# ``execute`` returns its coroutine rather than being ``async def`` itself (it watches the
# coroutine, :mod:`hostapp.unawaited`): marked a coroutine function all the same, for
# ``asyncio.iscoroutinefunction`` and ``unittest.mock``'s autospec (Python 3.11 reads the
# marker; 3.12 has ``inspect.markcoroutinefunction``, which ``inspect`` reads too)
if hasattr(inspect, "markcoroutinefunction"):
    inspect.markcoroutinefunction(Host.execute)
else:
    Host.execute._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
