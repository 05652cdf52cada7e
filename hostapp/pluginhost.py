"""The PluginHost façade: the only way the host calls plugins.

Why not ``pm.hook.<name>(...)``: pluggy stops at the first exception, cannot await, has no
timeouts and does not know which plugin answered what. Here each implementation is called
on its own, failures are attributed to their plugin and replaced by the hook's fail-safe
value (docs/architecture.md §3 and §4), coroutines are awaited under the plugin's
``timeout_seconds``, and a plugin that fails ``breaker_limit`` times in a row is tripped
(switched off: for the rest of a replay, until a retry answers in a live run,
:mod:`hostapp.breaker`). Every hook is called as its row of
:mod:`hookspecs.rules` says; who the plugins are is :mod:`hostapp.registry`.
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from time import perf_counter
from typing import Any, TypeVar

from hookspecs import HOOK_RULES, OrderRequest, Veto
from hookspecs.host import HostView
from hookspecs.types import Action, ActionResult, Bar, CloseReason, DefensiveState, Trade

from .deadline import Excused, Overran, TimedOut, under_deadline
from .hookcalls import (
    ANSWERS,
    CALLING,
    HOOK_NAMES,
    OWN_COPY,
    PluginInfo,
    describe,
    fail_safe,
    failed_kind,
    own_copy,
    switched_off_kind,
    sync_answer,
    yes_or_no,
)
from .logs import ONCE
from .order_comments import ReservedComments
from .registry import BREAKER_LIMIT, CALLABLE, SHUTDOWN, TRACE_ENV, TRIPPED, Caller, PluginRegistry
from .slow_calls import SlowCalls

#: What names its plugin in ``source``: an order, an action.
_Sourced = TypeVar("_Sourced", OrderRequest, Action)

__all__ = ["BREAKER_LIMIT", "HOOK_NAMES", "TRACE_ENV", "PluginHost", "PluginInfo"]


class PluginHost(PluginRegistry):
    """Calls hooks plugin by plugin, with isolation, timeouts and a breaker
    (docs/architecture.md §4)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the broker's time in ``host.execute``, which no hook's deadline counts
        self.broker_time = Excused()
        #: sync calls longer than their plugin's timeout, which cannot be cut short
        self.slow = SlowCalls(self.log)
        #: a replay's: an async call that came back late (it held the event loop) keeps
        #: its answer and is said as slow, since the replay's clock stood still meanwhile
        self.keep_late = False
        #: the plugins that named another as the source of an order or action (said once)
        self._claimed: set[str] = set()
        #: clears the reserved comments of proposed orders (said once per plugin)
        self.comments = ReservedComments(self.log)

    async def _invoke(
        self,
        hook: str,
        caller: Caller,
        kwargs: Mapping[str, Any],
        check: Callable[[str, Any], Any] | None = None,
    ) -> tuple[bool, Any]:
        """Call one implementation; ``(True, answer)`` or ``(False, None)`` when it
        failed. ``check`` (an entry of :data:`~hostapp.hookcalls.ANSWERS`) reads the
        answer: a wrong answer is that call's failure, so it never clears the count of
        consecutive failures (docs/architecture.md §4)."""
        name, fn, argnames, state = caller
        called = False  # past the plain call: what comes after is awaited
        calling = CALLING.set(name)  # whose hook: host.execute names the action's source
        try:
            started = perf_counter()
            value = fn(*[kwargs[a] for a in argnames])
            called = True
            slow = self.slow
            if value.__class__ is types.CoroutineType:
                try:
                    value = await under_deadline(value, state.timeout, self.broker_time)
                except Overran as late:
                    if not self.keep_late:
                        raise
                    slow.note(name, hook, late.seconds, state.timeout, held=True)
                    value = late.value
                else:
                    if slow.episodes:  # in time: a replay's episode of late calls ends
                        slow.note(name, hook, 0.0, state.timeout)
            else:
                spent = perf_counter() - started
                if spent > state.timeout or slow.episodes:
                    slow.note(name, hook, spent, state.timeout)
                if value is not None and value.__class__ is not list and inspect.isawaitable(value):
                    # awaited in this task under a deadline: wait_for would wrap every call
                    # in a task of its own, the largest cost of a replay's hook calls
                    scope = asyncio.timeout(state.timeout)
                    try:
                        async with scope:
                            value = await value
                    except TimeoutError:
                        if not scope.expired():
                            raise  # the plugin's own
                        raise TimedOut() from None
            if check is not None and value is not None and (value.__class__ is not list or value):
                value = check(name, value)
        except BaseException as exc:
            if not self._isolated(state, hook, exc, awaited=called):
                raise
            return False, None
        finally:
            CALLING.reset(calling)
        if state.failing:
            self._succeeded(state, hook)
        return True, value

    async def _broadcast(
        self, hook: str, kwargs: Mapping[str, Any], statuses: tuple[str, ...] = CALLABLE
    ) -> None:
        callers = self._callers_of(hook, statuses=statuses)
        own = OWN_COPY.get(hook)  # None: every listener gets the very kwargs
        if len(callers) == 1:  # the common case in a replay: skip gather's task machinery
            await self._invoke(hook, callers[0], kwargs if own is None else own_copy(kwargs, own))
        elif callers and HOOK_RULES[hook].concurrent:
            await asyncio.gather(
                *(
                    self._invoke(hook, c, kwargs if own is None else own_copy(kwargs, own))
                    for c in callers
                )
            )
        else:
            for caller in callers:
                await self._invoke(hook, caller, kwargs if own is None else own_copy(kwargs, own))

    async def notify(self, hook: str, **kwargs: Any) -> None:
        """Fire a notification hook (``combine = "none"`` in :mod:`hookspecs.rules`) for
        every plugin, isolated, concurrently when its rule says so. A hook added to the
        contract with such a rule needs no code here."""
        if HOOK_RULES[hook].combine != "none" or HOOK_RULES[hook].fatal:
            raise ValueError(f"{hook} is not a notification hook")
        statuses = SHUTDOWN if hook == "shutdown" else CALLABLE
        await self._broadcast(hook, kwargs, statuses)

    # -- every other hook, as its rule says (hookspecs.rules) ----------------------------

    async def call(self, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` the way its row of :mod:`hookspecs.rules` says and return the
        combined answer: the one way in for every hook but ``configure``, so a new hook
        is a spec and a row, and no code here. The typed methods below are shorthands."""
        combine = HOOK_RULES[hook].combine
        if combine == "none":
            return await self.notify(hook, **kwargs)
        if combine == "flatten":
            return await self._flatten(hook, kwargs)
        return self.ask(hook, **kwargs)

    def ask(self, hook: str, **kwargs: Any) -> Any:
        """The combined answer of a sync-only hook (``first_veto``, ``any_true``,
        ``by_plugin``), without an event loop."""
        rule = HOOK_RULES[hook]
        if not rule.sync_only or rule.combine not in _ASK:
            raise ValueError(f"{hook} is not a sync hook that answers; use call")
        return _ASK[rule.combine](self, hook, kwargs)

    async def _flatten(self, hook: str, kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Every plugin's items, in plugin order, each with its plugin's name. A plugin
        that fails, or answers what :data:`~hostapp.hookcalls.ANSWERS` refuses, adds the
        fail-safe items (none)."""
        check = ANSWERS[hook]
        out: list[tuple[str, Any]] = []
        for caller in self._callers_of(hook):
            ok, items = await self._invoke(hook, caller, kwargs, check)
            if not ok:
                items = fail_safe(HOOK_RULES[hook], "")
            if items:
                name = caller[0]
                out.extend((name, item) for item in items)
        return out

    def _first_veto(self, hook: str, kwargs: Mapping[str, Any]) -> Veto | None:
        """``None`` if no plugin objects; else the first objection, its reason and kind
        each as ``"<plugin>: <text>"``. A plugin that fails objects with the fail-safe
        reason (fails closed)."""
        check = ANSWERS[hook]
        for name, _, _, state in self._callers_of(hook, statuses=TRIPPED):
            # a guard switched off for failing still fails closed: its orders stay vetoed
            why = state.info.error or "failing"
            kind = switched_off_kind(name, hook)
            reason = f"{name}: switched off ({why}), so its {hook} vetoes (fails closed)"
            return Veto(reason, kind, name)
        slow, episodes = self.slow, self.slow.episodes
        started = perf_counter()  # each call's end starts the next: one clock read a call
        for name, fn, argnames, state in self._callers_of(hook):
            try:
                answer = fn(*[kwargs[a] for a in argnames])
                ended = perf_counter()
                if ended - started > state.timeout or episodes:
                    slow.note(name, hook, ended - started, state.timeout)
                started = ended
                veto = check(name, sync_answer(hook, answer))
            except BaseException as exc:
                if not self._isolated(state, hook, exc):
                    raise
                reason = f"{name}: {hook} {fail_safe(HOOK_RULES[hook], describe(exc))}"
                return Veto(reason, failed_kind(name, hook), name)
            if state.failing:
                self._succeeded(state, hook)
            if veto is not None:
                return Veto(f"{name}: {veto.reason}", f"{name}: {veto.kind}", name)
        return None

    def _first_reason(self, hook: str, kwargs: Mapping[str, Any]) -> str | None:
        """:meth:`_first_veto`'s reason alone: what ``call`` and ``ask`` answer."""
        veto = self._first_veto(hook, kwargs)
        return None if veto is None else veto.reason

    def _any_true(self, hook: str, kwargs: Mapping[str, Any]) -> bool:
        """True if any plugin says so; a plugin that fails answers the fail-safe, and so
        does, while it is switched off, one whose breaker tripped: a defender that can no
        longer be asked must not turn every trade into "not defended".

        The hot path (``is_defensive``): the callers and whether any tripped are looked
        up once per change of the plugin set, under the hook's name alone."""
        ready = self._answering.get(hook)
        if ready is None:
            tripped = bool(self._callers_of(hook, statuses=TRIPPED))
            ready = self._answering[hook] = (self._callers_of(hook), tripped)
        callers, tripped = ready
        if tripped:
            return bool(HOOK_RULES[hook].fail_safe)
        answer_all = False
        slow, episodes = self.slow, self.slow.episodes
        started = perf_counter()  # each call's end starts the next: one clock read a call
        for name, fn, argnames, state in callers:
            try:
                answer = fn(*[kwargs[a] for a in argnames])
                ended = perf_counter()
                if ended - started > state.timeout or episodes:
                    slow.note(name, hook, ended - started, state.timeout)
                started = ended
                if answer.__class__ is not bool:
                    answer = yes_or_no(hook, sync_answer(hook, answer))
            except BaseException as exc:
                if not self._isolated(state, hook, exc):
                    raise
                answer = bool(HOOK_RULES[hook].fail_safe)
                started = perf_counter()  # its time is not the next plugin's
            else:
                if state.failing:
                    self._succeeded(state, hook)
            if answer:
                answer_all = True
        return answer_all

    def _by_plugin(self, hook: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Each plugin's answer under its name, in plugin order; a plugin with nothing to
        say (``None``) is left out, one that fails answers the fail-safe."""
        check = ANSWERS[hook]
        out: dict[str, Any] = {}
        slow, episodes = self.slow, self.slow.episodes
        started = perf_counter()  # each call's end starts the next: one clock read a call
        for name, fn, argnames, state in self._callers_of(hook):
            try:
                answer = fn(*[kwargs[a] for a in argnames])
                ended = perf_counter()
                if ended - started > state.timeout or episodes:
                    slow.note(name, hook, ended - started, state.timeout)
                started = ended
                value = check(name, sync_answer(hook, answer))
            except BaseException as exc:
                if not self._isolated(state, hook, exc):
                    raise
                value = fail_safe(HOOK_RULES[hook], describe(exc))
                started = perf_counter()  # its time is not the next plugin's
            else:
                if state.failing:
                    self._succeeded(state, hook)
            if value is not None:
                out[name] = value
        return out

    # -- typed shorthands of call/ask, as the loop, the host and plugin tests use them ------

    async def startup(self, host: HostView) -> None:
        await self.notify("startup", host=host)

    async def shutdown(self, host: HostView) -> None:
        await self.notify("shutdown", host=host)

    async def propose_orders(
        self, host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
    ) -> list[tuple[str, OrderRequest]]:
        """All plugins' orders, flattened in plugin order and tagged with the plugin name,
        which is each order's ``source`` whatever it said (:meth:`claimed`). Every plugin
        gets the same ``bars``, so as a tuple (no copy when it is one: a replay's are). A
        comment in a prefix the host keeps for itself is cleared, said once per plugin."""
        kwargs = {"host": host, "symbol": symbol, "bars": tuple(bars), "now": now}
        proposed = await self._flatten("propose_orders", kwargs)
        cleared = self.comments.cleared  # a reserved comment too (hostapp.order_comments)
        return [
            (
                name,
                cleared(
                    name, order if order.source == name else self.claimed(name, order, "an order")
                ),
            )
            for name, order in proposed
        ]

    def claimed(self, plugin: str, item: _Sourced, what: str) -> _Sourced:
        """``item`` (an order ``plugin`` proposed, an action it executed) with ``source``
        ``plugin``: the reports, the other plugins' ``allow_order`` and the same-entries run
        of an A/B go by it, so a plugin may not claim another's name. A claim is one
        WARNING per plugin; an empty source is filled in without a word."""
        if item.source and plugin not in self._claimed:
            self._claimed.add(plugin)
            self.log.warning(
                "plugin %s: %s it made named source %r; the host sets the source to the "
                "plugin that made it (%s), for this and every later one",
                plugin,
                what,
                item.source,
                plugin,
                extra={ONCE: True},  # the terminal too, once for all the runs of an A/B
            )
        return replace(item, source=plugin)

    def allow_order(self, host: HostView, order: OrderRequest) -> str | None:
        """``None`` if every plugin allows ``order``; else the first veto's reason, as
        ``"<plugin>: <reason>"``. A plugin that raises vetoes (fails closed)."""
        veto = self._first_veto("allow_order", {"host": host, "order": order})
        return None if veto is None else veto.reason

    def veto(self, host: HostView, order: OrderRequest) -> Veto | None:
        """:meth:`allow_order` with the veto's kind (``"<plugin>: <kind>"``): what the
        loop counts vetoes by (:class:`hookspecs.Veto`)."""
        return self._first_veto("allow_order", {"host": host, "order": order})

    def failing(self, plugin: str, hook: str) -> bool:
        """Is an episode of ``plugin``'s failures of ``hook`` open (:mod:`hostapp.failed_calls`)?
        The episode of a failing guard's vetoes ends with it (:mod:`hostapp.episodes`)."""
        return (plugin, hook) in self.failed_calls.episodes

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        """True if any plugin says so; see :meth:`_any_true` for the fail-safe."""
        return self._any_true("is_defensive", {"host": host, "ticket": ticket})

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        await self.notify("on_trade_executed", host=host, trade=trade)

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        await self.notify("on_cycle", host=host, now=now)

    async def manage_positions(self, host: HostView, now: datetime) -> None:
        await self.notify("manage_positions", host=host, now=now)

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: CloseReason) -> None:
        await self.notify("on_trade_closed", host=host, trade=trade, reason=reason)

    async def on_state_change(
        self,
        host: HostView,
        ticket: int,
        old: DefensiveState,
        new: DefensiveState,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs = {"host": host, "ticket": ticket, "old": old, "new": new, "reason": reason}
        kwargs["details"] = details or {}  # read-only, a copy for each listener (OWN_COPY)
        await self.notify("on_state_change", **kwargs)

    async def on_action(self, host: HostView, action: Action, result: ActionResult) -> None:
        await self.notify("on_action", host=host, action=action, result=result)

    def run_report(self, host: HostView) -> dict[str, dict[str, Any]]:
        """Every plugin's report of the run, by name (see the ``run_report`` spec)."""
        return self._by_plugin("run_report", {"host": host})

    def web_routes(self, host: HostView) -> list[tuple[str, list[Any]]]:
        """Every plugin's aiohttp route definitions, as ``(plugin, routes)`` in plugin
        order (see the ``web_routes`` spec). A plugin that raises or returns anything but
        route definitions (or one application of its own) is logged and left out."""
        return list(self._by_plugin("web_routes", {"host": host}).items())


#: The combiners of the sync-only hooks, by the rule's ``combine``.
_ASK = {
    "first_veto": PluginHost._first_reason,
    "any_true": PluginHost._any_true,
    "by_plugin": PluginHost._by_plugin,
}
