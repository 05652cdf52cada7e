"""What the PluginHost knows of one implementation and one answer, apart from the calling.

* :func:`check_impls`: the checks at registration (a hook of the contract, no wrapper, no
  ``tryfirst``/``trylast``, no ``async def`` for a sync-only hook, ``self`` first in a
  method, parameters named like the hook's arguments, no default values);
* :data:`ANSWERS`: what a valid answer of a hook that answers is, per hook, and how the
  host reads it;
* :data:`CALLING`: which plugin's hook is running, so what it does through the host (an
  order, ``host.execute``) is set down as that plugin's (``source``);
* :func:`fail_safe`: the answer that stands in for a plugin that failed, from the hook's
  row of :mod:`hookspecs.rules`;
* :func:`timed`: the wrapper ``HOSTAPP_TRACE_PLUGINS=1`` puts around every implementation;
* :data:`OWN_COPY` and :func:`yes_or_no`: what each listener gets of its own, and how a
  yes/no answer is read.

The PluginHost (:mod:`hostapp.pluginhost`) does the calling, the isolation and the breaker.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import pluggy

from hookspecs import HOOK_RULES, HookRule, OrderRequest, Veto, spec
from hookspecs.frozen import unshared
from hookspecs.markers import PROJECT_NAME

#: The plugin whose hook implementation is running in this task (the PluginHost sets it
#: around each call it awaits), ``None`` outside any hook: ``host.execute`` sets an
#: action's ``source`` from it, so a plugin cannot act in another's name
#: (docs/plugins.md, "Who did it: source").
CALLING: ContextVar[str | None] = ContextVar("hostapp_calling_plugin", default=None)

#: Every hook of the contract, by name.
HOOK_NAMES = frozenset(
    n
    for n in dir(spec)
    if hasattr(getattr(spec, n), f"{PROJECT_NAME}_spec") and not n.startswith("_")
)


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(spec)
    return pm


#: Where a plugin came from: handed in by name (tests, benchmarks) or an installed entry point.
PluginSource = Literal["builtin", "entry point"]
#: A plugin's state: called; blocked before import (turned off in plugins.toml or the
#: environment); an optional plugin not named in ``[plugins] enabled`` (also blocked);
#: failed to load, register or configure; switched off by its breaker (for the rest of a
#: replay; a live run tries it again after a cool-down: :mod:`hostapp.breaker`).
PluginStatus = Literal["enabled", "disabled", "optional", "failed", "tripped"]


@dataclass
class PluginInfo:
    """One row of ``hostapp plugins``: plain data, ``dataclasses.asdict``-able."""

    name: str
    distribution: str | None
    version: str | None
    source: PluginSource
    hooks: list[str] = field(default_factory=list)
    status: PluginStatus = "enabled"
    error: str | None = None
    #: where the last failure happened, as data (``error`` says it in words): "load",
    #: "rejected" (at registration), "configure", or the hook or route that failed
    failed_in: str | None = None
    #: what is odd but does not stop the plugin (methods named like hooks, unmarked)
    warnings: list[str] = field(default_factory=list)


def describe(exc: BaseException, timeout: float | None = None) -> str:
    if isinstance(exc, TimeoutError) and timeout is not None and not str(exc):
        return f"timed out after {timeout:g}s"  # the timer's own, which says nothing
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: Where the host's own code is: a traceback with frames here alone is the host's.
_HOST_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def plugins_own(exc: BaseException) -> bool:
    """Does ``exc``'s traceback pass through code that is not the host's (the plugin's,
    or a library it called)? A wrong answer, a timeout or a route clash the host found
    has the host's frames alone, or none: a traceback of them says nothing the one line
    does not, so the log gives it for a plugin's own exceptions only."""
    tb = exc.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_HOST_DIR):
            return True
        tb = tb.tb_next
    return False


def fail_safe(rule: HookRule, error: str) -> Any:
    """The rule's fail-safe answer, with ``{error}`` in its texts replaced by ``error``."""
    value = rule.fail_safe
    if isinstance(value, str):
        return value.format(error=error)
    if isinstance(value, Mapping):
        return {k: v.format(error=error) if isinstance(v, str) else v for k, v in value.items()}
    return value


def switched_off_kind(plugin: str, hook: str) -> str:
    """The kind of every veto a plugin's switched-off ``allow_order`` answers (the
    summary counts them under it, and says them with the plugin's failure)."""
    return f"{plugin}: switched off, so its {hook} vetoes (fails closed)"


def failed_kind(plugin: str, hook: str) -> str:
    """The kind of every veto a plugin's failed ``allow_order`` answers, whatever its
    error's text: the loop says them with the episode of the plugin's failures
    (:class:`hostapp.episodes.FailedGuards`), the summary counts them under it."""
    return f"{plugin}: {hook} failed, so it vetoes (fails closed)"


#: How alike a name must be to a hook's to be offered as the one meant: a misspelling
#: (``propose_order``, ``on_cylce``, ``on_trade_exec``) is; difflib's default (0.6)
#: offered ``on_action`` for ``on_tick`` and ``on_trade_closed`` for ``on_trade_open``.
SUGGEST_CUTOFF = 0.85


def check_impls(pm: pluggy.PluginManager, obj: object) -> tuple[list[str], list[str]]:
    """The hooks ``obj`` implements, and everything wrong with them (empty when fine)."""
    hooks: list[str] = []
    problems: list[str] = []
    for attr in dir(obj):
        opts = pm.parse_hookimpl_opts(obj, attr)
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        hooks.append(hook)
        fn = getattr(obj, attr)
        if hook not in HOOK_NAMES:
            close = difflib.get_close_matches(hook, HOOK_NAMES, n=1, cutoff=SUGGEST_CUTOFF)
            meant = f"did you mean {close[0]!r}?" if close else "docs/plugins.md lists the hooks"
            problems.append(f"{attr}: no hook named {hook!r} ({meant})")
            continue
        if opts.get("wrapper") or opts.get("hookwrapper"):
            problems.append(f"{hook}: wrappers are not supported (each impl is called alone)")
        if opts.get("tryfirst") or opts.get("trylast"):
            problems.append(
                f"{hook}: tryfirst/trylast are not supported (every hook calls plugins in"
                " [plugins] order of plugins.toml); list the plugin there instead"
            )
        if HOOK_RULES[hook].sync_only and (
            inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        ):
            problems.append(f"{hook} is sync only but is implemented with async def")
        problems.extend(_argument_problems(pm, hook, fn))
        params = inspect.signature(fn).parameters.values()
        defaults = [p.name for p in params if p.default is not p.empty]
        if defaults:
            problems.append(
                f"{hook}: parameter(s) {', '.join(defaults)} have default values, which "
                "pluggy never passes; remove the defaults"
            )
        odd = [p.name for p in params if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]
        if odd and not defaults:
            problems.append(f"{hook}: keyword-only or */** parameter(s) {', '.join(odd)}")
    return sorted(hooks), problems


def _argument_problems(pm: pluggy.PluginManager, hook: str, fn: Any) -> list[str]:
    """What is wrong with the names of ``fn``'s parameters, said before pluggy's own check
    does (its text names neither the hook's arguments nor what to do): a method whose
    first parameter is named like an argument of the hook (``self`` left out: the plugin
    object would arrive in it, and pluggy accepted it), and names the hook has not."""
    argnames = tuple(getattr(pm.hook, hook).spec.argnames)
    problems = []
    if inspect.ismethod(fn):
        first = next(iter(inspect.signature(fn.__func__).parameters), None)
        if first in argnames:
            problems.append(
                f"{hook}: its first parameter {first!r} receives the plugin object itself "
                "(a method needs self first)"
            )
    named = (
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    unknown = [n for n in named if n not in argnames]
    if unknown:
        problems.append(
            f"{hook}: parameter(s) {', '.join(unknown)} are not arguments of the hook "
            f"(its arguments: {', '.join(argnames)})"
        )
    return problems


def unmarked_hooks(pm: pluggy.PluginManager, obj: object) -> list[str]:
    """The methods of ``obj`` named like a hook of the contract but not marked
    ``@hookimpl``: pluggy never calls them, and nothing else would say so."""
    return sorted(
        attr
        for attr in HOOK_NAMES
        if callable(getattr(obj, attr, None)) and pm.parse_hookimpl_opts(obj, attr) is None
    )


def foreign_marks(obj: object, names: Sequence[str]) -> list[str]:
    """The pluggy projects other than the contract's whose ``hookimpl`` marks one of
    ``names`` on ``obj`` (pluggy keeps a mark as the attribute ``<project>_impl``): a
    plugin that made its own ``HookimplMarker``, or took another framework's, reads as
    unmarked here, and saying whose mark it carries says what to import instead."""
    projects = {
        attr[: -len("_impl")]
        for name in names
        for attr in dir(getattr(obj, name, None))
        if attr.endswith("_impl")
        and not attr.startswith("_")
        and isinstance(getattr(getattr(obj, name), attr, None), dict)
    }
    return sorted(projects - {PROJECT_NAME})


def sync_answer(hook: str, value: Any) -> Any:
    """A sync-only hook's answer; an awaitable is a bug of the plugin (TypeError)."""
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        raise TypeError(f"{hook} is sync only but returned an awaitable")
    return value


# -- what a valid answer is ------------------------------------------------------------------


def _orders(plugin: str, value: Any) -> list[OrderRequest]:
    """The orders as proposed: their ``source`` is set by the PluginHost, which also says
    a claim of another plugin's name (:meth:`~hostapp.pluginhost.PluginHost.propose_orders`)."""
    if not isinstance(value, list | tuple) or not all(isinstance(o, OrderRequest) for o in value):
        raise TypeError(f"propose_orders must return a list of OrderRequest, got {value!r}")
    return list(value)


def _veto(plugin: str, value: Any) -> Veto | None:
    """A plain string is a veto of its own kind."""
    if value is None or isinstance(value, Veto):
        return value
    if isinstance(value, str) and value.strip():
        return Veto(value, value)
    raise TypeError(
        f"allow_order must return None, a non-empty reason (a str) or a Veto, got {value!r}"
    )


def _report(plugin: str, value: Any) -> dict[str, Any] | None:
    """The report as ``summary.json`` will hold it: written with the same rules here, so
    a NaN (an average over no trades) or keys that are not text fail this plugin's report
    alone instead of the whole summary at the end of the run."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"run_report must return a mapping or None, got {value!r}")
    report = _plain(value, "")
    activity = report.get("activity")
    if activity is not None:
        if isinstance(activity, bool) or not isinstance(activity, numbers.Integral):
            raise TypeError(f"run_report's activity must be an int, got {activity!r}")
        report["activity"] = int(activity)  # numpy's too, written as a number
    note = report.get("note")
    if note is not None and not isinstance(note, str):
        raise TypeError(f"run_report's note must be a str, got {note!r}")
    return report


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON data (numpy's numbers as Python's), or TypeError naming
    the key where it is not: written with ``str`` it would be a repr in summary.json."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise TypeError(f"run_report: not a finite number at {where or 'the top'}: {value}")
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"run_report: a key that is not text at {where or 'the top'}: {key!r}"
                )
            out[key] = _plain(item, f"{where}[{key!r}]" if where else f"key {key!r}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where or 'the top'}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"run_report: not plain JSON data at {where or 'the top'}: "
        f"{type(value).__name__} is not a JSON type"
    )


def _routes(plugin: str, value: Any) -> list[Any] | None:
    from aiohttp.web import AbstractRouteDef, Application

    wrong = f"web_routes must return aiohttp route definitions: {value!r}"
    try:
        routes = [] if value is None else list(value)
    except TypeError:  # an int: "'int' object is not iterable" said nothing of the hook
        raise TypeError(wrong) from None
    whole_app = len(routes) == 1 and isinstance(routes[0], Application)
    if not whole_app and not all(isinstance(r, AbstractRouteDef) for r in routes):
        raise TypeError(wrong)
    return routes or None


#: Per hook that answers (besides ``is_defensive``, whose answer is read as a bool on the
#: hot path): ``check(plugin, answer)`` → the answer as the host uses it (``None``: nothing
#: to say), or TypeError, which counts as the plugin failing.
ANSWERS: dict[str, Callable[[str, Any], Any]] = {
    "propose_orders": _orders,
    "allow_order": _veto,
    "run_report": _report,
    "web_routes": _routes,
}


def timed(log: logging.Logger, hook: str, name: str, fn: Callable[..., Any]) -> Any:
    """``fn`` logging each call's duration (``HOSTAPP_TRACE_PLUGINS=1``); an async one is
    timed until its awaitable finishes. Only built when tracing, so it costs nothing else."""
    if inspect.iscoroutinefunction(fn):

        async def timed_async(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args)
            finally:
                ms = (time.perf_counter() - started) * 1000
                log.info("trace: %s %s %.3f ms", hook, name, ms)

        return timed_async

    def timed(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            log.info("trace: %s %s %.3f ms", hook, name, (time.perf_counter() - started) * 1000)

    return timed


#: The argument of a hook that holds a mapping or a list (``Action.params``, ``details``):
#: each listener gets a copy of its own (:func:`hookspecs.frozen.unshared`). Read-only is
#: not enough: a ``FrozenDict`` is a ``dict``, which ``dict.__setitem__`` changes in place,
#: and a frozen dataclass is changed by ``object.__setattr__``; on one shared object, what
#: one listener did so, the next one and the action's planner (DTMS journals its params)
#: saw. The other arguments of every hook hold no container and are shared.
OWN_COPY = {"on_action": "action", "on_state_change": "details"}


def own_copy(kwargs: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``kwargs`` with a copy of argument ``name`` of one listener's own (:data:`OWN_COPY`)."""
    return {**kwargs, name: unshared(kwargs[name])}


def yes_or_no(hook: str, value: Any) -> bool:
    """A yes/no hook's answer: True, False or None (no opinion). Anything else is the
    plugin's bug (TypeError, its fail-safe answer): ``bool("False")`` is True."""
    if value is None:
        return False
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "b" and not getattr(value, "shape", ()):  # numpy's bool scalar: a bool
        return bool(value)
    raise TypeError(f"{hook} must return a bool, got {value!r}")
