"""Awaiting a plugin's coroutine under its deadline without paying for a timer when it
never suspends.

Most async hooks of a replay finish in their first step (the paper broker answers at
once); arming ``asyncio.timeout`` for each of them was the largest cost of an async hook
call. A coroutine that does suspend finishes under a deadline counted from the call, as
with ``asyncio.timeout``.

The broker's time is not the plugin's: a MetaTrader order the terminal does not answer is
looked for on the server for up to ``resolve_seconds`` inside ``host.execute``, and a
plugin defending trades through a trade-server outage must not fail its hook for it (five
such failures in a row would switch it off when it is needed most). The host adds the
time of each broker call to an :class:`Excused` total, and the deadline moves by what was
added during the call.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any


class Excused:
    """Seconds spent waiting on the broker for plugins (``host.execute``), in total: a
    hook's deadline moves by what this grew while it ran, whichever plugin's call it was
    (hooks of one cycle run at once, and a broker call holds the event loop for all)."""

    __slots__ = ("_armed", "seconds")

    def __init__(self) -> None:
        self.seconds = 0.0
        self._armed: set[Callable[[], None]] = set()  # the deadlines of suspended hooks

    def add(self, seconds: float) -> None:
        """The broker took ``seconds``: every armed deadline moves by them at once,
        before a timer of another plugin's hook could fire on the loop just freed."""
        self.seconds += seconds
        for move in tuple(self._armed):
            move()


class TimedOut(TimeoutError):
    """The deadline passed while the coroutine waited: raised by the host in place of
    asyncio's ``TimeoutError``, whose traceback (the plugin cancelled, then the timer's
    frames) said nothing more than "timed out" in thirty lines (its message stays empty,
    as asyncio's, so :func:`hostapp.hookcalls.describe` says the timeout)."""


class Overran(TimeoutError):
    """The coroutine came back after its deadline: it held the event loop without
    awaiting (no timer can interrupt that), or it caught its cancellation and went on.
    Live, its result is not used: the hook counts as failed, as one that timed out. A
    replay's clock stands still while it ran, so the plugin host may keep ``value``
    (:attr:`hostapp.pluginhost.PluginHost.keep_late`); ``seconds``: how long it took."""

    def __init__(self, message: str, value: Any, seconds: float) -> None:
        super().__init__(message)
        self.value = value
        self.seconds = seconds


async def under_deadline(
    coro: types.CoroutineType[Any, Any, Any], timeout: float, excused: Excused
) -> Any:
    """Await ``coro`` under ``timeout`` seconds, plus the broker's time ``excused`` gains
    meanwhile: its first step runs at once; only if it suspends is the timer armed, at
    the deadline counted from the call. Coming back late anyway is :class:`Overran`."""
    loop = asyncio.get_running_loop()
    before = excused.seconds
    deadline = loop.time() + timeout
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        _in_time(loop.time() - deadline - (excused.seconds - before), timeout, done.value)
        return done.value
    scope = asyncio.timeout_at(deadline + excused.seconds - before)
    try:
        async with scope:

            def move() -> None:  # the broker took some of the time since: it moves
                if not scope.expired():
                    scope.reschedule(deadline + excused.seconds - before)

            excused._armed.add(move)
            try:
                value = await _resume(coro, yielded)
            finally:
                excused._armed.discard(move)
    except TimeoutError:
        if not scope.expired():
            raise  # the plugin's own
        raise TimedOut() from None
    _in_time(loop.time() - deadline - (excused.seconds - before), timeout, value)
    return value


def _in_time(late: float, timeout: float, value: Any) -> None:
    if late > 0.0:
        raise Overran(
            f"came back {late:.2f} s after its {timeout:g} s deadline: it held the event loop "
            "without awaiting, or caught its cancellation and went on",
            value,
            timeout + late,
        )


@types.coroutine
def _resume(coro: types.CoroutineType[Any, Any, Any], yielded: Any) -> Any:
    """Go on with ``coro`` from where its first step stopped: what it waits on goes to
    the event loop, what comes back (a result, a cancellation) goes into it."""
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:  # cancellation (the deadline) included: into coro
            try:
                yielded = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as done:
                return done.value
