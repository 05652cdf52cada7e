"""Awaiting a plugin's coroutine under its deadline without paying for a timer when it
never suspends.

Most async hooks of a replay finish in their first step (the paper broker answers at
once); arming ``asyncio.timeout`` for each of them was the largest cost of an async hook
call. A coroutine that does suspend finishes under a deadline counted from the call, as
with ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any


class Overran(TimeoutError):
    """The coroutine came back after its deadline: it held the event loop without
    awaiting (no timer can interrupt that), or it caught its cancellation and went on.
    Its result is not used: the hook counts as failed, as one that timed out."""


async def under_deadline(coro: types.CoroutineType[Any, Any, Any], timeout: float) -> Any:
    """Await ``coro`` under ``timeout`` seconds: its first step runs at once; only if it
    suspends is the timer armed, at the deadline counted from the call. Coming back
    late anyway is :class:`Overran`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        _in_time(loop.time() - deadline, timeout)
        return done.value
    async with asyncio.timeout_at(deadline):
        value = await _resume(coro, yielded)
    _in_time(loop.time() - deadline, timeout)
    return value


def _in_time(late: float, timeout: float) -> None:
    if late > 0.0:
        raise Overran(
            f"came back {late:.2f} s after its {timeout:g} s deadline: it held the event loop "
            "without awaiting, or caught its cancellation and went on"
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
