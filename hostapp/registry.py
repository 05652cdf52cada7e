"""Who the plugins are: registration with its checks, call order, the per-hook caller
lists, ``configure`` (historic and fatal), listing; failure accounting and the breaker
are :mod:`hostapp.isolation`'s.

:class:`~hostapp.pluginhost.PluginHost` builds on it with the calling of every other hook.
The per-hook lists of ``(plugin, function, argnames, state)`` are computed once and thrown
away whenever the set of callable plugins changes, so the hot path (``is_defensive``)
costs about what pluggy itself costs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pluggy

from hookspecs import ConfigError
from hookspecs.host import HostView

from .config import DEFAULT_PATH, DEFAULT_TIMEOUT_SECONDS, DISABLE_ENV
from .errors import PluginError
from .failed_calls import FailedCalls
from .hookcalls import (
    PluginInfo,
    check_impls,
    describe,
    foreign_marks,
    make_plugin_manager,
    sync_answer,
    timed,
    unmarked_hooks,
)
from .isolation import Isolation, State
from .logs import ONCE, ReportLog

BREAKER_LIMIT = 5
#: Set to 1 to log every hook call with its plugin and duration (INFO, logger
#: ``hostapp.plugins``).
TRACE_ENV = "HOSTAPP_TRACE_PLUGINS"
CALLABLE = ("enabled",)
TRIPPED = ("tripped",)
SHUTDOWN = ("enabled", "tripped")  # a tripped plugin may still hold resources to release
Caller = tuple[str, Any, tuple[str, ...], State]


class PluginRegistry(Isolation):
    """The plugins a host knows, their state and their callers, hook by hook."""

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
        #: every failed call, said once per episode, and the run's totals
        self.failed_calls = FailedCalls(self.log)
        self._order = {name: i for i, name in enumerate(order)}
        self._tables = {name: dict(t) for name, t in (tables or {}).items()}
        self._states: dict[str, State] = {}
        #: what is odd in the configuration beside any one plugin (a name ``[plugins]
        #: disabled`` gives that no plugin has): logged once, and shown by the listing
        self.config_warnings: list[str] = []
        #: a live run's (hostapp.app, hostapp.serve); 0: a tripped plugin stays off
        self.retry_seconds = 0.0
        self.wall = time.monotonic
        self._retrying = {}
        self._callers: dict[tuple[str, tuple[str, ...]], list[Caller]] = {}
        #: per any_true hook: its callers and whether a plugin implementing it tripped
        self._answering: dict[str, tuple[list[Caller], bool]] = {}
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
        self._add_state(State(info, None, self._timeout(info.name)))

    def register(self, name: str, obj: object, info: PluginInfo | None = None) -> bool:
        """Register ``obj`` under ``name`` after checking every hook it implements.

        A plugin that fails the checks is unregistered completely and listed as failed
        (or :class:`PluginError` is raised with ``on_error = "raise"``). Returns whether
        the plugin is now enabled.
        """
        info = info or PluginInfo(name, None, None, "builtin")
        info.name, info.status, info.error, info.failed_in = name, "enabled", None, None
        state = State(info, obj, self._timeout(name))
        self._add_state(state)
        try:
            self._check(obj, info, self.pm)
            if self.pm.register(obj, name=name) is None:
                info.status, state.obj = "disabled", None
                return False
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # looking at it ran its code (a property): its failure
            if not isinstance(exc, pluggy.PluginValidationError | ValueError | TypeError):
                return self._reject(state, describe(exc), exc)
            return self._reject(state, " ".join(str(exc).split()), exc)
        self._invalidate()
        self._warn_unmarked(obj, info)
        if self._configured is not None:  # configure is historic: late plugins get it too
            try:
                self._configure_one(self._configured, name, self._callers_of("configure", name))
            except ConfigError:
                self.pm.unregister(name=name)
                self._invalidate()
                raise
        return True

    def _add_state(self, state: State) -> None:
        if state.info.name in self._states:
            raise ValueError(f"two plugins are named {state.info.name!r}")
        self._states[state.info.name] = state

    @staticmethod
    def _check(obj: object, info: PluginInfo, pm: pluggy.PluginManager) -> None:
        """Note the hooks ``obj`` implements in ``info``; ValueError names all that is wrong."""
        info.hooks, problems = check_impls(pm, obj)
        if problems:
            raise ValueError("; ".join(problems))

    def warn(self, name: str, text: str) -> None:
        """Something odd about plugin ``name`` that does not stop it: one WARNING line,
        and a warning in its row of the listing."""
        state = self._states.get(name)
        if state is not None:
            state.info.warnings.append(text)
        self.log.warning("plugin %s: %s", name, text, extra={ONCE: True})

    def _warn_unmarked(self, obj: object, info: PluginInfo) -> None:
        """One line at load, and a warning in the listing, for methods named like hooks
        without ``@hookimpl``: the plugin loads and is listed as enabled, and they are
        never called."""
        unmarked = unmarked_hooks(self.pm, obj)
        if unmarked:
            text = (
                f"method(s) {', '.join(unmarked)} named like hooks but not marked @hookimpl "
                "are never called"
            )
            others = foreign_marks(obj, unmarked)
            if others:  # marked, by another project's marker
                text += (
                    f" (marked by the hookimpl of pluggy project {', '.join(map(repr, others))}"
                    ", not this host's: use 'from hookspecs import hookimpl')"
                )
            self.warn(info.name, text)

    def refuse(self, name: str, message: str) -> None:
        """Plugin ``name``, loaded, cannot run for a reason the host found after loading
        it (its name is the run recorder's): listed as failed with ``message``, never
        called."""
        self._reject(self._states[name], message, ConfigError(message))

    def _reject(self, state: State, message: str, exc: BaseException) -> bool:
        name = state.info.name
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        state.obj = None
        state.info.status, state.info.error = "failed", f"rejected: {message}"
        state.info.failed_in = "rejected"
        self._invalidate()
        # a warning: the command that runs it stops in one line (loader.refuse_unloaded)
        self.log.warning("plugin %s rejected: %s", name, message)
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
        self, hook: str, only: str | None = None, statuses: tuple[str, ...] = CALLABLE
    ) -> list[Caller]:
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

    # -- the hooks ----------------------------------------------------------------------

    def configure(self, host: HostView) -> None:
        """Configure every enabled plugin. Any error is fatal (ConfigError), whatever
        ``on_error`` says: a misconfigured plugin must not trade."""
        self._configured = host
        for caller in self._callers_of("configure"):
            self._configure_one(host, caller[0], [caller])

    def configure_each(self, host: HostView) -> dict[str, ConfigError]:
        """Configure every enabled plugin, going on past one that fails, which is then
        listed as failed with why: ``hostapp plugins``, whose point is to show every
        plugin that cannot run. The errors, by plugin."""
        self._configured = host
        errors: dict[str, ConfigError] = {}
        for caller in list(self._callers_of("configure")):
            try:
                self._configure_one(host, caller[0], [caller])
            except ConfigError as exc:
                errors[caller[0]] = exc
        return errors

    def _configure_one(self, host: HostView, name: str, callers: Iterable[Caller]) -> None:
        for _, fn, argnames, state in callers:
            kwargs = {"host": host}
            try:
                sync_answer("configure", fn(*[kwargs[a] for a in argnames]))
            except KeyboardInterrupt:
                raise  # the command's Ctrl-C: no run is there yet to stop in order
            except BaseException as exc:  # a SystemExit too: the plugin's, not the command's
                state.info.status, state.info.error = "failed", f"configure: {describe(exc)}"
                state.info.failed_in = "configure"
                self._invalidate()
                if isinstance(exc, ConfigError):
                    raise self._in_file(host, exc, name) from exc
                where = self._log_traceback(name, exc)
                raise ConfigError(
                    f"plugin {name!r}: configure failed: {describe(exc)}{where}"
                ) from exc

    def _log_traceback(self, name: str, exc: BaseException) -> str:
        """The traceback of a ``configure`` that raised what is not a ConfigError (a bug
        of the plugin, which the one line that stops the command cannot hold): written to
        the command's log file where it keeps one (``run``, ``replay``: the report's
        hostapp.log), and said at DEBUG elsewhere. Not through the logger: the terminal
        would say the line twice, once before the command's own. Returns the words that
        end that line, saying where the traceback is (none when no file holds it)."""
        files = [h for h in logging.getLogger().handlers if isinstance(h, ReportLog)]
        if not files:
            self.log.debug("plugin %s: configure failed", name, exc_info=exc)
            return ""
        record = self.log.makeRecord(
            self.log.name, logging.ERROR, "", 0, "plugin %s: configure failed: %s",
            (name, describe(exc)), (type(exc), exc, exc.__traceback__),
        )  # fmt: skip
        for handler in files:
            handler.handle(record)
        return f" (traceback in {os.path.basename(files[0].baseFilename)})"

    @staticmethod
    def _in_file(host: HostView, exc: ConfigError, name: str) -> ConfigError:
        """A plugin names its table (``[plugin.dtms]: key …``) but cannot know which file
        the host read: prefix it, so the one-line error names file, table and key. A
        plugin that offers to be disabled in a plugins.toml that does not exist (the
        defaults were read) gets the ways that work: the environment, or the file."""
        config = getattr(host, "config", None)
        source = getattr(config, "source", None)
        message = str(exc)
        if not (source and message.startswith("[")):
            return exc
        message = f"{source} {message}"
        if getattr(config, "defaults_only", False) and "[plugins] disabled" in message:
            message += (
                f"; there is no {DEFAULT_PATH} to write that in: run with {DISABLE_ENV}={name} "
                f"in the environment, or create {DEFAULT_PATH} with those lines"
            )
        return ConfigError(message)

    # -- inspection ---------------------------------------------------------------------

    def listing(self) -> list[PluginInfo]:
        """Every known plugin, in call order, as copies (callers may not edit our state)."""
        states = sorted(self._states.values(), key=lambda s: self.rank(s.info.name))
        return [
            replace(s.info, hooks=list(s.info.hooks), warnings=list(s.info.warnings))
            for s in states
        ]

    def tripped(self) -> list[dict[str, Any]]:
        """The plugins whose breaker tripped, in call order: ``plugin``, ``at`` (when it
        last tripped, by the host's clock, ISO 8601; None when it could not tell) and
        ``why``: the run's ``summary.json`` lists them as ``tripped``, where ``plugins``
        lists only the plugins still running at its end.

        In a run whose breaker retries (a live one's, :mod:`hostapp.breaker`), every
        plugin it switched off in the run, back on or not, with ``trips`` (the times it
        was switched off, a failed retry too), ``retries``, ``on_trial`` (switched back
        on, its hooks not yet through a cycle), ``back_on`` (its hooks answered a retry:
        it runs again) and ``retry_at`` (when the next retry is due, by the wall clock;
        None unless it is switched off)."""
        retries = self.retry_seconds > 0
        states = sorted(self._states.values(), key=lambda s: self.rank(s.info.name))
        out: list[dict[str, Any]] = []
        for s in states:
            off = s.info.status == "tripped"
            if not (off or (retries and s.trips)):
                continue
            entry: dict[str, Any] = {
                "plugin": s.info.name,
                "at": s.tripped_at.isoformat() if s.tripped_at is not None else None,
                "why": s.tripped_why or s.info.error,
            }
            if retries:
                due = self.retry_at(s)
                entry |= {
                    "trips": s.trips,
                    "retries": s.retries,
                    "on_trial": not off and s.retry is not None,
                    "back_on": not off and s.retry is None,
                    "retry_at": due.isoformat() if due is not None else None,
                }
            out.append(entry)
        return out

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
