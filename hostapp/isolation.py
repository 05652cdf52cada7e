"""How the host takes what a plugin's call raised: a failure counted towards its breaker,
a refusal at start-up, a request to stop, or something that is not the plugin's at all.

Why a module of its own: every way into a plugin (a hook call, its import, its
``configure``, its web handler) must draw the same line between what the plugin did and
what the host did, or a ``SystemExit`` in one hook took the whole host down while a
``RuntimeError`` in the next was isolated (docs/architecture.md §4, "What a plugin
raises"):

* an ``Exception``, a ``SystemExit`` (``sys.exit()``, an argparse error), a bare
  ``BaseException``, a ``GeneratorExit`` or ``CancelledError`` of its own: the plugin's
  failure, logged with its name and hook and counted by the breaker;
* the host's own cancellation of the call (its task is being cancelled) and the closing of
  a call the host was awaiting (``GeneratorExit``): the host's, raised on;
* a ``KeyboardInterrupt``: during a run the user's Ctrl-C never lands in a plugin as a
  ``KeyboardInterrupt``, since the run's handler takes the first one as a request to
  stop (:mod:`hostapp.driving`) and raises only at the second, as
  :class:`~hostapp.stop_signals.Aborted`, which goes on up (abort at once). Any other
  ``KeyboardInterrupt`` a plugin raises asks for what Ctrl-C asks: the run stops after
  its cycle, shuts its plugins down and writes its report (exit 130). It is no failure
  of the plugin. Outside a run (no stop to ask for) it is the command's Ctrl-C.

A task a plugin starts itself is no hook call: a ``SystemExit`` out of it is said and
ended by the host's event loop (:mod:`hostapp.event_loop`).

The breaker: ``breaker_limit`` failures of one hook in a row switch the plugin off. In a
replay, for the rest of the run; in a live run it is tried again after a cool-down
(:mod:`hostapp.breaker`), and the first failure of a retry switches it off again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .breaker import Retry
from .durations import duration_text
from .errors import PluginError
from .failed_calls import FailedCalls
from .hookcalls import PluginInfo, describe, plugins_own
from .logs import TERMINAL
from .stop_signals import Aborted

#: The failures of a plugin's ``startup`` that are a refusal, not a bug: its configuration
#: or its files (a state folder another process holds, no permission, a full disk), by
#: class name, since the host imports no plugin. The run stops on them with one line
#: (hostapp.driving), so the log says them in a line too, without the traceback a bug
#: gets.
REFUSED_AT_START = frozenset(
    {
        "ConfigError", "StoreError", "OSError", "PermissionError", "FileExistsError",
        "FileNotFoundError", "IsADirectoryError", "NotADirectoryError", "OperationalError",
        "DatabaseError",
    }
)  # fmt: skip


def refused_at_start(exc: BaseException) -> bool:
    """Is ``exc``, raised by a plugin's ``startup``, a refusal (:data:`REFUSED_AT_START`)?"""
    return type(exc).__name__ in REFUSED_AT_START


def hosts_own(exc: BaseException, *, awaited: bool) -> bool:
    """Is ``exc``, which is no ``Exception``, the host's rather than the plugin's? Only
    while the host awaited the plugin's call (``awaited``): its task being cancelled, or
    the call closed (``GeneratorExit``). A ``KeyboardInterrupt`` is neither's to isolate
    here (:meth:`Isolation._isolated`)."""
    if not awaited:
        return False
    if isinstance(exc, GeneratorExit):
        return True
    if isinstance(exc, asyncio.CancelledError):
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop: nothing of the host's to cancel
            return False
        return task is None or task.cancelling() > 0
    return False


class State:
    """What the host tracks per plugin; shared by reference with the cached caller lists."""

    __slots__ = (
        "failing", "failures", "info", "obj", "retries", "retry", "timeout", "traced",
        "tripped_at", "tripped_why", "trips",
    )  # fmt: skip

    def __init__(self, info: PluginInfo, obj: object, timeout: float) -> None:
        self.info = info
        self.obj = obj
        self.timeout = timeout
        #: consecutive failures of each hook (a success of that hook clears it): one
        #: hook failing every cycle trips the breaker though the plugin's others work
        self.failures: dict[str, int] = {}
        #: the hooks in an episode of failures (hostapp.failed_calls): a success of one
        #: is counted until the episode ends; empty, as most of the time, it costs nothing
        self.failing: set[str] = set()
        #: the hooks whose failure was logged with its traceback: once per hook and run
        #: (five failures in a row trip the breaker, five tracebacks said nothing more);
        #: only a plugin's own exception has one (:func:`~hostapp.hookcalls.plugins_own`)
        self.traced: set[str] = set()
        #: when its breaker last tripped, by the host's clock (the run's summary says it)
        self.tripped_at: datetime | None = None
        #: why it last tripped (its ``info.error`` then: a plugin back on fails anew)
        self.tripped_why: str | None = None
        #: the times its breaker switched it off in the run (a retry that failed too),
        #: and the retries made (a live run's: :mod:`hostapp.breaker`)
        self.trips = 0
        self.retries = 0
        #: while switched off, or on trial, in a run whose breaker retries
        self.retry: Retry | None = None


class Isolation:
    """Failure accounting and the breaker, for :class:`~hostapp.registry.PluginRegistry`,
    which sets every attribute declared here."""

    log: logging.Logger
    failed_calls: FailedCalls
    breaker_limit: int
    raise_errors: bool
    _states: dict[str, State]
    #: set while a run runs (hostapp.driving, hostapp.serve): what a plugin's own
    #: ``KeyboardInterrupt`` calls, the stop Ctrl-C asks for
    on_interrupt: Callable[[], None] | None = None
    #: the plugin and hook whose ``KeyboardInterrupt`` stopped the run, if one did
    stopped_by: str | None = None
    #: the host's clock, for when a breaker tripped (hostapp.app sets it)
    clock: Callable[[], datetime] | None = None
    #: a live run's ``[host] breaker_retry_seconds`` (hostapp.app, hostapp.serve): the
    #: first cool-down of a tripped plugin; 0, a replay's, switches it off for good
    retry_seconds: float
    #: the clock of the cool-downs: the wall's, monotonic (:mod:`hostapp.breaker`)
    wall: Callable[[], float]
    #: the plugins switched off, or on trial, in a run whose breaker retries, by name
    _retrying: dict[str, State]

    def _invalidate(self) -> None:
        raise NotImplementedError

    def _succeeded(self, state: State, hook: str) -> None:
        """A call of ``hook`` answered: its count of failures in a row starts again, and
        its episode of failures, if any, counts one more call without one. Callers call
        it while ``state.failing`` holds a hook; a plugin on trial always does (the hook
        that tripped it, which only its answer takes out), so its answers count here."""
        state.failures.pop(hook, None)
        if state.retry is not None:
            state.retry.answered = True
        if hook in state.failing and self.failed_calls.succeeded(state.info.name, hook):
            state.failing.discard(hook)

    def failed(self, name: str, hook: str, exc: BaseException) -> None:
        """What the host found wrong with plugin ``name``'s answer after the call (a route
        clash): logged, counted and said in the run's summary like a failed call."""
        state = self._states.get(name)
        if state is not None:
            self._failed(state, hook, exc)

    def _isolated(
        self, state: State, hook: str, exc: BaseException, *, awaited: bool = False
    ) -> bool:
        """``exc`` came out of plugin ``state``'s call of ``hook``. True: it was dealt
        with (the plugin's failure, counted; or its request to stop), and the caller
        answers the hook's fail-safe. False: the caller raises it on (the host's own, the
        user's Ctrl-C, or ``on_error = "raise"``). ``awaited``: the host was awaiting the
        call (the module docstring says what each exception is)."""
        if isinstance(exc, Exception):
            self._failed(state, hook, exc)
            return not self.raise_errors
        if isinstance(exc, KeyboardInterrupt):
            return self.stop_asked(state.info.name, hook, exc)
        if hosts_own(exc, awaited=awaited):
            return False
        self._failed(state, hook, exc)
        if self.raise_errors:  # a SystemExit raised on would end the process without a word
            raise PluginError(state.info.name, f"{hook} raised {describe(exc)}") from exc
        return True

    def stop_asked(self, name: str, where: str, exc: KeyboardInterrupt) -> bool:
        """Plugin ``name``'s ``KeyboardInterrupt`` out of ``where`` (a hook, a web route):
        True when it was taken as the stop Ctrl-C asks for (said once), a run being there
        to stop; False for the user's abort (:class:`Aborted`) and a Ctrl-C outside a
        run, which the caller raises on."""
        stop = self.on_interrupt
        if stop is None or isinstance(exc, Aborted):
            return False
        if self.stopped_by is None:
            self.stopped_by = f"{name}: {where}"
            self.log.error(
                "plugin %s: %s raised KeyboardInterrupt: stopping after this cycle, as on "
                "Ctrl-C (the report is written)",
                name,
                where,
            )
        stop()
        return True

    def _failed(self, state: State, hook: str, exc: BaseException) -> None:
        """Log and count one failure; trip the breaker at the limit. Callers re-raise in
        ``raise`` mode."""
        info = state.info
        error = f"{hook}: {describe(exc, state.timeout)}"
        if info.status != "tripped":  # a tripped one keeps why it was switched off
            info.error, info.failed_in = error, hook
        failures = state.failures[hook] = state.failures.get(hook, 0) + 1
        state.failing.add(hook)
        if hook == "startup" and refused_at_start(exc):
            # The run stops on it in one line naming the plugin's table (hostapp.driving);
            # a traceback on the terminal before that line says nothing more.
            self.log.warning("plugin %s: cannot start: %s", info.name, error)
            self.log.debug("plugin %s: startup failed", info.name, exc_info=exc)
        elif self.failed_calls.failed(info.name, hook):  # an episode's first: said
            self._say(state, hook, exc)
        on_trial = state.retry is not None and state.retry.on_trial
        limit = 1 if on_trial else self.breaker_limit  # a retry fails at its first failure
        if failures >= limit and info.status == "enabled" and not self.raise_errors:
            self._trip(state, hook, failures)

    def _trip(self, state: State, hook: str, failures: int) -> None:
        """Switch plugin ``state`` off: for the rest of the run, or until its next retry
        when the run's breaker retries (one line each way)."""
        info, retry = state.info, state.retry
        info.status = "tripped"
        state.trips += 1
        state.tripped_at = self._now()
        if retry is not None and retry.on_trial:
            last = info.error
            info.error = f"breaker tripped again at retry {retry.retries}: {last}"
            wait = retry.switched_off(self.wall())
            self.log.error(
                "plugin %s: retry %d failed (%s): switched off again, tried again in %s",
                info.name, retry.retries, last, duration_text(wait),
            )  # fmt: skip
        else:
            info.error = (
                f"breaker tripped after {failures} consecutive failures of {hook}; last: "
                f"{info.error}"
            )
            if self.retry_seconds > 0:
                state.retry = Retry(self.retry_seconds, self.wall())
                self._retrying[info.name] = state
                self.log.error(
                    "plugin %s switched off: %s; tried again in %s ([host] "
                    "breaker_retry_seconds)",
                    info.name, info.error, duration_text(self.retry_seconds),
                )  # fmt: skip
            else:
                self.log.error(
                    "plugin %s disabled for the rest of the run: %s", info.name, info.error
                )
        state.tripped_why = info.error
        self._invalidate()

    def new_cycle(self) -> None:
        """A cycle begins (the loop's, a serving host's monitor's): a switched-off plugin
        whose cool-down is over is switched back on for its hooks, and one on trial
        whose hooks answered in the cycle before, or that went a cool-down's length
        without a failure, is back on, the episode over. Nothing to
        do, as in every replay, costs one look at an empty dict."""
        if not self._retrying:
            return
        now = self.wall()
        switched = False
        for name, state in list(self._retrying.items()):
            retry = state.retry
            if retry is None:
                del self._retrying[name]
            elif retry.on_trial:
                if retry.trial_over(now):
                    del self._retrying[name]
                    state.retry = None
                    self.log.warning(
                        "plugin %s back on after %s switched off (%d %s)",
                        name, duration_text(now - retry.off_since), retry.retries,
                        "retry" if retry.retries == 1 else "retries",
                        extra={TERMINAL: True},
                    )  # fmt: skip
            elif now >= retry.due and state.info.status == "tripped":
                retry.try_again(now)
                state.retries += 1
                state.failures.clear()
                state.info.status = "enabled"
                switched = True
                self.log.warning(
                    "plugin %s: switched back on to try again after %s switched off "
                    "(retry %d; its first failure switches it off again)",
                    name, duration_text(now - retry.off_since), retry.retries,
                    extra={TERMINAL: True},
                )  # fmt: skip
        if switched:
            self._invalidate()

    def retry_at(self, state: State) -> datetime | None:
        """When plugin ``state``'s next retry is due, by the wall clock (UTC, to the
        second); None when it is on, or its run does not retry."""
        retry = state.retry
        if retry is None or retry.on_trial:
            return None
        due = datetime.now(UTC) + timedelta(seconds=max(0.0, retry.due - self.wall()))
        return due.replace(microsecond=0)

    def _say(self, state: State, what: str, exc: BaseException) -> None:
        """The first failure of an episode, in one ERROR line; the traceback of a
        plugin's own exception with it, once per hook (or route) and run."""
        own = plugins_own(exc)
        first = own and what not in state.traced
        if own:
            state.traced.add(what)
        self.log.error(
            "plugin %s: %s failed: %s%s",
            state.info.name,
            what,
            describe(exc, state.timeout),
            " (traceback logged at its first failure)" if own and not first else "",
            exc_info=exc if first else None,
        )

    def _now(self) -> datetime | None:
        clock = self.clock
        if clock is None:
            return None
        try:
            return clock()
        except Exception:  # a clock that cannot tell: the summary says when it can
            return None

    # -- a plugin's web handlers (hostapp.web_guards) --------------------------------------

    def route_failed(self, name: str, route: str, exc: BaseException) -> None:
        """Plugin ``name``'s handler of ``route`` (``GET /path``) failed: said once per
        episode, as a hook's failure is, and counted in the run's summary, but never
        counted by the breaker: a page that fails must not switch off a plugin's trading
        hooks (its allow_order would then veto every entry)."""
        state = self._states.get(name)
        if state is None:
            return
        if state.info.status != "tripped":  # a tripped one keeps why it was switched off
            state.info.error, state.info.failed_in = f"{route}: {describe(exc)}", route
        if self.failed_calls.failed(name, route):
            self._say(state, route, exc)

    def route_answered(self, name: str, route: str) -> None:
        """Plugin ``name``'s handler of ``route`` answered: an episode of its failures,
        if one is open, counts one more call without one."""
        if (name, route) in self.failed_calls.episodes:
            self.failed_calls.succeeded(name, route)
