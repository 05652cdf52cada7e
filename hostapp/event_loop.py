"""The host's event loop: a ``SystemExit`` out of a task a plugin started itself ends that
task, not the host; any other exception of such a task is said naming it.

Why: asyncio lets a ``SystemExit`` (and a ``KeyboardInterrupt``) out of any task's step
and out of ``run_until_complete``, whichever task raised it. A plugin's hooks are
isolated by the plugin host (:mod:`hostapp.isolation`), but a background task a plugin
starts (``asyncio.create_task(...)`` in its ``startup``) whose coroutine called
``sys.exit()`` ended ``hostapp run``, ``run --live``, a replay and ``hostapp serve`` at
once, with the plugin's exit code, no shutdown and no report. A task of its own is the
plugin's (docs/architecture.md §4, "What a plugin raises"): here it ends alone, said once
in one line naming its coroutine and module, and the loop goes on.

What stays as it was: a ``SystemExit`` of the coroutine the command runs (the host's
own), a ``KeyboardInterrupt`` from anywhere (the user's abort,
:class:`~hostapp.stop_signals.Aborted`, goes on up), and cancellations, which never
leave the loop. :func:`run` is :func:`asyncio.run` on this loop.

An ordinary exception that ends a plugin's task never stopped the host, but asyncio said
it only when the task was dropped, as "Task exception was never retrieved" with the
task's repr and no word of whose it was: it is said here as a ``SystemExit`` is, in one
ERROR line naming the coroutine and its module, with its traceback the first time that
coroutine's task fails (each later one DEBUG). A task of the host's own is left to
asyncio, as before.

Why a loop of its own rather than a task factory wrapping each task's coroutine: the
wrapper would cost every task the host makes (a broadcast's), and asyncio's own lines
about a plugin's task ("Task exception was never retrieved") would name the wrapper
instead of the plugin's coroutine. Here nothing runs until a ``SystemExit`` has left a
task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from types import FrameType
from typing import Any, TypeVar

from .hookcalls import describe

T = TypeVar("T")

log = logging.getLogger("hostapp.plugins")

#: Where asyncio's own code is: the frames between the loop and the task that raised.
_ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep

if sys.platform == "win32":
    _Loop = asyncio.ProactorEventLoop  # what asyncio.run makes there
else:
    _Loop = asyncio.SelectorEventLoop


class HostLoop(_Loop):
    """The platform's event loop, on which a ``SystemExit`` that a task other than the
    awaited one raised (or a callback) is said and the loop goes on."""

    def __init__(self) -> None:
        super().__init__()
        #: what run_until_complete waits for: the command's coroutine, or Runner's tidying
        self._awaited: asyncio.Future[Any] | None = None
        #: the tasks already said (``module.qualname``): said once, each later one DEBUG
        self._said: set[str] = set()

    def run_until_complete(self, future: Any) -> Any:
        awaited = asyncio.ensure_future(future, loop=self)
        outer, self._awaited = self._awaited, awaited
        try:
            return super().run_until_complete(awaited)
        finally:
            self._awaited = outer

    def run_forever(self) -> None:
        while True:
            try:
                super().run_forever()
                return
            except SystemExit as exc:
                awaited = self._awaited
                if awaited is None or _raised_by(awaited, exc):
                    raise  # the command's own coroutine exited: the command exits
                self._say(exc, _origin(exc))
                if awaited.done():  # it finished in the same pass: its stop is lost, or
                    self.stop()  # still queued: asked again, the next pass drains both

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """A task that ended with a ``SystemExit`` was said when it did (:meth:`_say`):
        asyncio's "Task exception was never retrieved" for it would say it twice. One of
        a plugin's tasks that ended with another exception is said here, as one that
        exited is, instead of asyncio's text, which named no plugin."""
        exc, task = context.get("exception"), context.get("future")
        if isinstance(exc, SystemExit):
            return
        if isinstance(exc, Exception) and isinstance(task, asyncio.Task):
            origin = _task_frame(task, exc)
            if origin is not None and not _hosts(origin):
                self._say(exc, origin)
                return
        super().default_exception_handler(context)

    def _say(self, exc: BaseException, origin: FrameType | None) -> None:
        if origin is None:
            what = "a callback scheduled on the event loop"
        else:
            module = origin.f_globals.get("__name__", "?")
            what = f"task {origin.f_code.co_qualname} of module {module}"
        first = what not in self._said
        self._said.add(what)
        hosts = origin is not None and _hosts(origin)
        log.log(
            logging.ERROR if first else logging.DEBUG,
            "%s raised %s: it ended alone, the host runs on (%s)",
            what,
            describe(exc),
            "a task of the host's own: a bug of the host"
            if hosts
            else "what a plugin starts on the event loop is its own",
            exc_info=exc if first else None,
        )


def _raised_by(future: asyncio.Future[Any], exc: BaseException) -> bool:
    return future.done() and not future.cancelled() and future.exception() is exc


def _origin(exc: BaseException) -> FrameType | None:
    """The frame the loop ran that raised ``exc``: the first one after asyncio's own
    (the task's coroutine), or None when asyncio called no Python code (``sys.exit``
    itself scheduled as a callback)."""
    tb, in_asyncio = exc.__traceback__, False
    while tb is not None:
        ours = tb.tb_frame.f_code.co_filename.startswith(_ASYNCIO_DIR)
        if in_asyncio and not ours:
            return tb.tb_frame
        in_asyncio = in_asyncio or ours
        tb = tb.tb_next
    return None


def _task_frame(task: asyncio.Task[Any], exc: BaseException) -> FrameType | None:
    """The frame of ``task``'s own coroutine in ``exc``'s traceback (asyncio's C tasks
    leave no frame of theirs before it), else the first after asyncio's."""
    code = getattr(task.get_coro(), "cr_code", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return tb.tb_frame
        tb = tb.tb_next
    return _origin(exc)


def _hosts(frame: FrameType) -> bool:
    """Is ``frame`` of the host's own code (a module of ``hostapp``)?"""
    return str(frame.f_globals.get("__name__", "")).startswith("hostapp.")


def run(main: Coroutine[Any, Any, T]) -> T:
    """:func:`asyncio.run` of ``main`` on a :class:`HostLoop`."""
    with asyncio.Runner(loop_factory=HostLoop) as runner:
        return runner.run(main)
