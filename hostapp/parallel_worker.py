"""The worker side of :mod:`hostapp.parallel`: what each worker process does once (keep
the bars, send its log records to the parent, keep a stop for the run that listens) and
for each run (report progress, start no run once the runs were stopped).

A module of its own so the parent's side reads alone; the parent hands the pool
:func:`start_worker` and :func:`run_in_worker`, which the workers import by name.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, cast

from .logs import RunLabel
from .progress import Progress
from .stop_signals import STOP_SIGNALS

#: ``run(shared, spec, progress)``: one run, a module-level function (workers import it).
RunFn = Callable[[Any, Any, Progress | None], Any]

#: Seconds between two progress messages of one worker's run.
REPORT_INTERVAL = 0.2

#: Seconds between two checks of a worker that its parent is still there.
PARENT_CHECK_SECONDS = 0.5

#: Log records a worker sends in one message: sooner when one is a warning or worse,
#: when its run reports progress, and when the run ends. One message per record cost
#: more than the run's own work for a run with DTMS (thousands of records).
LOG_BUNDLE = 100

_worker: dict[str, Any] = {}


class NotStarted(Exception):
    """A run a worker held when the runs were stopped: dropped, as those not handed out."""


def start_worker(
    out: Any, logs: Any, run_fn: RunFn, shared: dict[str, Any] | bytes, stopped: Any
) -> None:
    """Once per worker: keep the bars, send log records to the parent, and leave SIGINT
    and SIGTERM to the run in progress: between runs they must not kill the worker (the
    pool would break, and the runs in the other workers with it) but are kept for the
    next run (:func:`_stop_later`); the parent ends the worker, or, when it dies without
    doing so (a SIGKILL), the worker ends itself."""
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True
    ).start()
    if isinstance(shared, bytes):
        shared = pickle.loads(shared)
    _worker.update(out=out, run_fn=run_fn, shared=shared, stopped=stopped)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_later)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = _ToParent(logs)
    handler.addFilter(RunLabel())  # stamped here: the parent does not know the run
    _worker["log"] = handler
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    out.put(("pid", os.getpid()))


def _stop_later(signum: int, frame: FrameType | None) -> None:
    """A stop that came while no run listened (between runs, or while one was being
    built): kept, and handed to the run being built at its first progress report, where
    the run's own handler takes it (it stops after its cycle); a later run does not
    start (:func:`run_in_worker`)."""
    _worker["stop"] = signum


def _exit_with_parent(parent: int) -> None:
    """End this worker once its parent is gone: SIGTERM does not end it (kept for its next
    run) and it waits on the pool's queue, whose pipe it holds open itself, so nothing
    else would ever end it. The parent's sentinel (``multiprocessing.parent_process()``)
    says so on every system; the parent pid changing, which the sentinel-less case falls
    back to, never happens on Windows, where an orphan keeps its parent's pid."""
    watched = multiprocessing.parent_process()
    if watched is not None:
        watched.join()
    else:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def run_in_worker(run_id: int, label: str, data: str, spec: Any) -> Any:
    """One run in this worker, unless the runs were stopped before it began: the stop
    that reached this worker may have been taken by the run before (its own handler,
    which :func:`_stop_later` never saw), so the parent's flag is what says it."""
    if _worker["stopped"].is_set() or "stop" in _worker:
        raise NotStarted(label)
    progress = _Reporter(_worker["out"], run_id, label)
    try:
        return _worker["run_fn"](_worker["shared"][data], spec, progress)
    finally:
        _worker["log"].flush()  # the run's last records, before its result


class _Reporter:
    """A worker run's progress, sent to the parent at most every ``REPORT_INTERVAL``."""

    def __init__(self, out: Any, run_id: int, label: str) -> None:
        self.out, self.run_id, self.label = out, run_id, label
        self._next_at = 0.0
        self._stop_passed = False

    def __call__(self, done: int, total: int) -> None:
        if not self._stop_passed and "stop" in _worker:
            self._stop_passed = True
            # the run listens now; raised, not os.kill: on Windows that would terminate
            # the worker (TerminateProcess) and break the pool
            signal.raise_signal(_worker["stop"])
        now = time.monotonic()
        if now >= self._next_at or done >= total:
            self._next_at = now + REPORT_INTERVAL
            _worker["log"].flush()  # records reach the parent as often as progress
            self.out.put(("progress", self.run_id, self.label, done, total))

    def finish(self) -> None:
        _worker["log"].flush()
        self.out.put(("done", self.run_id))


class _ToParent(logging.handlers.QueueHandler):
    """Log records to the parent in bundles (:data:`LOG_BUNDLE`), with their message
    formatted here and every extra field made picklable (a field that is not a plain
    value travels as its text)."""

    def __init__(self, queue: Any) -> None:
        super().__init__(queue)
        self._bundle: list[logging.LogRecord] = []

    def enqueue(self, record: logging.LogRecord) -> None:
        self._bundle.append(record)
        if len(self._bundle) >= LOG_BUNDLE or record.levelno >= logging.WARNING:
            self._send()

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():
            self._send()

    def _send(self) -> None:
        if self._bundle:
            bundle, self._bundle = self._bundle, []
            cast(Any, self.queue).put(bundle)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record with its message formatted and its traceback as text apart
        (``exc_text``), as the parent's handlers would have it: ``QueueHandler``'s own
        ``prepare`` writes the traceback into the message, where the terminal's
        :class:`~hostapp.logs.OneLine` can no longer leave it to ``hostapp.log``."""
        record = copy.copy(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.message = record.msg = record.getMessage()
        record.args, record.exc_info = None, None
        for key, value in list(record.__dict__.items()):
            if not isinstance(value, str | int | float | bool | type(None) | tuple | list | dict):
                record.__dict__[key] = str(value)
        return record
