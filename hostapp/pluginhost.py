"""The PluginHost façade: the only way the host calls plugins.

Why not ``pm.hook.<name>(...)``: pluggy stops at the first exception, cannot await, has no
timeouts and does not know which plugin answered what. Here each implementation is called
on its own, failures are attributed to their plugin and replaced by the hook's fail-safe
value (docs/architecture.md §3 and §4), coroutines are awaited under the plugin's
``timeout_seconds``, and a plugin that fails ``breaker_limit`` times in a row is tripped
(disabled for the rest of the run).

The per-hook lists of ``(plugin, function, argnames, state)`` are computed once and thrown
away whenever the set of callable plugins changes, so ``is_defensive`` (the hot path)
costs about what pluggy itself costs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pluggy

from hookspecs import HOOK_RULES, ConfigError, OrderRequest
from hookspecs.host import HostView
from hookspecs.types import Action, ActionResult, Bar, DefensiveState, Trade

from .config import DEFAULT_TIMEOUT_SECONDS
from .errors import PluginError
from .hookcalls import (
    ANSWERS,
    HOOK_NAMES,
    PluginInfo,
    check_impls,
    describe,
    fail_safe,
    make_plugin_manager,
    sync_answer,
    timed,
)

__all__ = ["BREAKER_LIMIT", "HOOK_NAMES", "TRACE_ENV", "PluginHost", "PluginInfo"]

BREAKER_LIMIT = 5
#: Set to 1 to log every hook call with its plugin and duration (INFO, logger
#: ``hostapp.plugins``).
TRACE_ENV = "HOSTAPP_TRACE_PLUGINS"
_CALLABLE = ("enabled",)
_TRIPPED = ("tripped",)
_SHUTDOWN = ("enabled", "tripped")  # a tripped plugin may still hold resources to release


class _State:
    """What the façade tracks per plugin; shared by reference with the cached caller lists."""

    __slots__ = ("failures", "info", "obj", "timeout")

    def __init__(self, info: PluginInfo, obj: object, timeout: float) -> None:
        self.info = info
        self.obj = obj
        self.timeout = timeout
        self.failures = 0


_Caller = tuple[str, Any, tuple[str, ...], _State]


class PluginHost:
    """Calls hooks plugin by plugin, with isolation, timeouts and a breaker
    (docs/architecture.md §4)."""

    def __init__(
        self,
        pm: pluggy.PluginManager | None = None,
        *,
        order: Sequence[str] = (),
        on_error: str = "isolate",
        tables: Mapping[str, Mapping[str, Any]] | None = None,
        breaker_limit: int = BREAKER_LIMIT,
        log: logging.Logger | None = None,
    ) -> None:
        self.pm = pm if pm is not None else make_plugin_manager()
        self.raise_errors = on_error == "raise"
        self.breaker_limit = breaker_limit
        self.log = log or logging.getLogger("hostapp.plugins")
        self._order = {name: i for i, name in enumerate(order)}
        self._tables = {name: dict(t) for name, t in (tables or {}).items()}
        self._states: dict[str, _State] = {}
        self._callers: dict[tuple[str, tuple[str, ...]], list[_Caller]] = {}
        #: per any_true hook: its callers and whether a plugin implementing it tripped
        self._answering: dict[str, tuple[list[_Caller], bool]] = {}
        self._configured: HostView | None = None
        #: ``HOSTAPP_TRACE_PLUGINS=1``: one INFO line per hook call, plugin and duration
        self.trace = os.environ.get(TRACE_ENV, "") not in ("", "0")

    # -- registration -------------------------------------------------------------------

    def rank(self, name: str) -> tuple[int, int, str]:
        """Call order: the names of ``[plugins] order`` first, as listed; the rest by name."""
        index = self._order.get(name)
        return (0, index, "") if index is not None else (1, 0, name)

    def record(self, info: PluginInfo) -> None:
        """List a plugin that will not be called (disabled, or failed before registration)."""
        self._add_state(_State(info, None, self._timeout(info.name)))

    def register(self, name: str, obj: object, info: PluginInfo | None = None) -> bool:
        """Register ``obj`` under ``name`` after checking every hook it implements.

        A plugin that fails the checks is unregistered completely and listed as failed
        (or :class:`PluginError` is raised with ``on_error = "raise"``). Returns whether
        the plugin is now enabled.
        """
        info = info or PluginInfo(name, None, None, "builtin")
        info.name, info.status, info.error = name, "enabled", None
        state = _State(info, obj, self._timeout(name))
        self._add_state(state)
        try:
            self._check(obj, info, self.pm)
            if self.pm.register(obj, name=name) is None:
                info.status, state.obj = "disabled", None
                return False
        except (pluggy.PluginValidationError, ValueError, TypeError) as exc:
            return self._reject(state, " ".join(str(exc).split()), exc)
        self._invalidate()
        if self._configured is not None:  # configure is historic: late plugins get it too
            try:
                self._configure_one(self._configured, name, self._callers_of("configure", name))
            except ConfigError:
                self.pm.unregister(name=name)
                self._invalidate()
                raise
        return True

    def _add_state(self, state: _State) -> None:
        if state.info.name in self._states:
            raise ValueError(f"two plugins are named {state.info.name!r}")
        self._states[state.info.name] = state

    @staticmethod
    def _check(obj: object, info: PluginInfo, pm: pluggy.PluginManager) -> None:
        """Note the hooks ``obj`` implements in ``info``; ValueError names all that is wrong."""
        info.hooks, problems = check_impls(pm, obj)
        if problems:
            raise ValueError("; ".join(problems))

    def _reject(self, state: _State, message: str, exc: BaseException) -> bool:
        name = state.info.name
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        state.obj = None
        state.info.status, state.info.error = "failed", f"rejected: {message}"
        self._invalidate()
        self.log.error("plugin %s rejected: %s", name, message)
        if self.raise_errors:
            raise PluginError(name, f"rejected: {message}") from exc
        return False

    def _timeout(self, name: str) -> float:
        return float(self._tables.get(name, {}).get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))

    # -- caller lists and failure accounting ---------------------------------------------

    def _invalidate(self) -> None:
        self._callers.clear()
        self._answering.clear()

    def _callers_of(
        self, hook: str, only: str | None = None, statuses: tuple[str, ...] = _CALLABLE
    ) -> list[_Caller]:
        key = (hook, statuses)
        callers = self._callers.get(key)
        if callers is None:
            callers = []
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                state = self._states.get(impl.plugin_name)
                if state is not None and state.info.status in statuses:
                    fn = impl.function
                    if self.trace:
                        fn = timed(self.log, hook, impl.plugin_name, fn)
                    callers.append((impl.plugin_name, fn, tuple(impl.argnames), state))
            callers.sort(key=lambda c: self.rank(c[0]))
            self._callers[key] = callers
        return callers if only is None else [c for c in callers if c[0] == only]

    def _failed(self, state: _State, hook: str, exc: BaseException) -> None:
        """Log and count one failure; trip the breaker at the limit. Callers re-raise in
        ``raise`` mode."""
        info = state.info
        info.error = f"{hook}: {describe(exc, state.timeout)}"
        state.failures += 1
        self.log.error("plugin %s: %s failed: %s", info.name, hook, info.error, exc_info=exc)
        if (
            state.failures >= self.breaker_limit
            and info.status == "enabled"
            and not self.raise_errors
        ):
            info.status = "tripped"
            info.error = (
                f"breaker tripped after {state.failures} consecutive failures; last: {info.error}"
            )
            self.log.error("plugin %s disabled for the rest of the run: %s", info.name, info.error)
            self._invalidate()

    async def _invoke(
        self, hook: str, caller: _Caller, kwargs: Mapping[str, Any]
    ) -> tuple[bool, Any]:
        _, fn, argnames, state = caller
        try:
            value = fn(*[kwargs[a] for a in argnames])
            if inspect.isawaitable(value):
                # awaited in this task under a deadline: wait_for would wrap every call in
                # a task of its own, the largest cost of a replay's hook calls
                async with asyncio.timeout(state.timeout):
                    value = await value
        except Exception as exc:
            self._failed(state, hook, exc)
            if self.raise_errors:
                raise
            return False, None
        state.failures = 0
        return True, value

    async def _broadcast(
        self, hook: str, kwargs: Mapping[str, Any], statuses: tuple[str, ...] = _CALLABLE
    ) -> None:
        callers = self._callers_of(hook, statuses=statuses)
        if len(callers) == 1:  # the common case in a replay: skip gather's task machinery
            await self._invoke(hook, callers[0], kwargs)
        elif callers and HOOK_RULES[hook].concurrent:
            await asyncio.gather(*(self._invoke(hook, c, kwargs) for c in callers))
        else:
            for caller in callers:
                await self._invoke(hook, caller, kwargs)

    async def notify(self, hook: str, **kwargs: Any) -> None:
        """Fire a notification hook (``combine = "none"`` in :mod:`hookspecs.rules`) for
        every plugin, isolated, concurrently when its rule says so. A hook added to the
        contract with such a rule needs no code here."""
        if HOOK_RULES[hook].combine != "none" or HOOK_RULES[hook].fatal:
            raise ValueError(f"{hook} is not a notification hook")
        statuses = _SHUTDOWN if hook == "shutdown" else _CALLABLE
        await self._broadcast(hook, kwargs, statuses)

    # -- the hooks ----------------------------------------------------------------------

    def configure(self, host: HostView) -> None:
        """Configure every enabled plugin. Any error is fatal (ConfigError), whatever
        ``on_error`` says: a misconfigured plugin must not trade."""
        self._configured = host
        for caller in self._callers_of("configure"):
            self._configure_one(host, caller[0], [caller])

    def _configure_one(self, host: HostView, name: str, callers: Iterable[_Caller]) -> None:
        for _, fn, argnames, state in callers:
            kwargs = {"host": host}
            try:
                sync_answer("configure", fn(*[kwargs[a] for a in argnames]))
            except Exception as exc:
                state.info.status, state.info.error = "failed", f"configure: {describe(exc)}"
                self._invalidate()
                if isinstance(exc, ConfigError):
                    raise self._in_file(host, exc) from exc
                raise ConfigError(f"plugin {name!r}: configure failed: {describe(exc)}") from exc

    @staticmethod
    def _in_file(host: HostView, exc: ConfigError) -> ConfigError:
        """A plugin names its table (``[plugin.dtms]: key …``) but cannot know which file
        the host read: prefix it, so the one-line error names file, table and key."""
        source = getattr(getattr(host, "config", None), "source", None)
        message = str(exc)
        if source and message.startswith("["):
            return ConfigError(f"{source} {message}")
        return exc

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
            ok, value = await self._invoke(hook, caller, kwargs)
            if not ok or value is None:
                continue
            name, state = caller[0], caller[3]
            try:
                items = check(name, value)
            except TypeError as exc:
                self._failed(state, hook, exc)
                if self.raise_errors:
                    raise
                items = fail_safe(HOOK_RULES[hook], describe(exc))
            out.extend((name, item) for item in items)
        return out

    def _first_veto(self, hook: str, kwargs: Mapping[str, Any]) -> str | None:
        """``None`` if no plugin objects; else the first objection, as ``"<plugin>:
        <reason>"``. A plugin that fails objects with the fail-safe reason (fails closed)."""
        check = ANSWERS[hook]
        for name, fn, argnames, state in self._callers_of(hook):
            try:
                reason = check(name, sync_answer(hook, fn(*[kwargs[a] for a in argnames])))
            except Exception as exc:
                self._failed(state, hook, exc)
                if self.raise_errors:
                    raise
                return f"{name}: {hook} {fail_safe(HOOK_RULES[hook], describe(exc))}"
            state.failures = 0
            if reason is not None:
                return f"{name}: {reason}"
        return None

    def _any_true(self, hook: str, kwargs: Mapping[str, Any]) -> bool:
        """True if any plugin says so; a plugin that fails answers the fail-safe, and so
        does, for good, one whose breaker tripped: a defender that can no longer be asked
        must not turn every trade into "not defended" for the rest of the run.

        The hot path (``is_defensive``): the callers and whether any tripped are looked
        up once per change of the plugin set, under the hook's name alone."""
        ready = self._answering.get(hook)
        if ready is None:
            tripped = bool(self._callers_of(hook, statuses=_TRIPPED))
            ready = self._answering[hook] = (self._callers_of(hook), tripped)
        callers, tripped = ready
        if tripped:
            return bool(HOOK_RULES[hook].fail_safe)
        answer_all = False
        for _, fn, argnames, state in callers:
            try:
                answer = fn(*[kwargs[a] for a in argnames])
                if answer.__class__ is not bool:
                    answer = bool(sync_answer(hook, answer))
            except Exception as exc:
                self._failed(state, hook, exc)
                if self.raise_errors:
                    raise
                answer = bool(HOOK_RULES[hook].fail_safe)
            else:
                if state.failures:
                    state.failures = 0
            if answer:
                answer_all = True
        return answer_all

    def _by_plugin(self, hook: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Each plugin's answer under its name, in plugin order; a plugin with nothing to
        say (``None``) is left out, one that fails answers the fail-safe."""
        check = ANSWERS[hook]
        out: dict[str, Any] = {}
        for name, fn, argnames, state in self._callers_of(hook):
            try:
                value = check(name, sync_answer(hook, fn(*[kwargs[a] for a in argnames])))
            except Exception as exc:
                self._failed(state, hook, exc)
                if self.raise_errors:
                    raise
                value = fail_safe(HOOK_RULES[hook], describe(exc))
            else:
                state.failures = 0
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
        """All plugins' orders, flattened in plugin order and tagged with the plugin name
        (an order without a ``source`` gets its plugin's)."""
        kwargs = {"host": host, "symbol": symbol, "bars": bars, "now": now}
        return await self._flatten("propose_orders", kwargs)

    def allow_order(self, host: HostView, order: OrderRequest) -> str | None:
        """``None`` if every plugin allows ``order``; else the first veto, as
        ``"<plugin>: <reason>"``. A plugin that raises vetoes (fails closed)."""
        return self._first_veto("allow_order", {"host": host, "order": order})

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        """True if any plugin says so; see :meth:`_any_true` for the fail-safe."""
        return self._any_true("is_defensive", {"host": host, "ticket": ticket})

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        await self.notify("on_trade_executed", host=host, trade=trade)

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        await self.notify("on_cycle", host=host, now=now)

    async def manage_positions(self, host: HostView, now: datetime) -> None:
        await self.notify("manage_positions", host=host, now=now)

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
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
        kwargs["details"] = dict(details or {})
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

    # -- inspection ---------------------------------------------------------------------

    def listing(self) -> list[PluginInfo]:
        """Every known plugin, in call order, as copies (callers may not edit our state)."""
        states = sorted(self._states.values(), key=lambda s: self.rank(s.info.name))
        return [replace(s.info, hooks=list(s.info.hooks)) for s in states]

    @property
    def names(self) -> list[str]:
        """The enabled plugins, in call order."""
        return [i.name for i in self.listing() if i.status == "enabled"]

    def implementers(self, hook: str) -> list[str]:
        """The enabled plugins that implement ``hook``, in call order."""
        return [c[0] for c in self._callers_of(hook)]

    def has_impls(self, hook: str) -> bool:
        """Whether any enabled plugin implements ``hook`` (lets the loop skip idle hooks)."""
        return bool(self._callers_of(hook))

    def get(self, name: str) -> object | None:
        state = self._states.get(name)
        return state.obj if state is not None and state.info.status == "enabled" else None

    def is_enabled(self, name: str) -> bool:
        state = self._states.get(name)
        return state is not None and state.info.status == "enabled"

    def settings_for(self, name: str) -> dict[str, Any]:
        """A copy of the ``[plugin.NAME]`` table (empty when absent)."""
        return dict(self._tables.get(name, {}))


#: The combiners of the sync-only hooks, by the rule's ``combine``.
_ASK = {
    "first_veto": PluginHost._first_veto,
    "any_true": PluginHost._any_true,
    "by_plugin": PluginHost._by_plugin,
}
