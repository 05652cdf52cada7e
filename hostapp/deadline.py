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


async def under_deadline(coro: types.CoroutineType[Any, Any, Any], timeout: float) -> Any:
    """Await ``coro`` under ``timeout`` seconds: its first step runs at once; only if it
    suspends is the timer armed, at the deadline counted from the call."""
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        return done.value
    async with asyncio.timeout_at(deadline):
        return await _resume(coro, yielded)


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
