"""Several replays at once: the runs of an A/B or a sweep in worker processes, one per
core by default (``--jobs N``), or one after the other in this process (``--jobs 1``).

Why processes: a replay is CPU-bound Python, so threads would take turns on one core.
Each worker gets the bars once (when it starts), then one run at a time: a picklable
description of the run in, the finished run out. A run builds its own host from its
own configuration, state folder included, so where it runs changes nothing in its
results: the same bars and settings make the same trades in a worker as here.

What the workers say comes back through two queues: their progress, to the one display
of :class:`hostapp.progress.RunsProgress`, and their log records, to this process's
handlers (``hostapp.log``), so the log and the terminal look as with ``--jobs 1``. Two,
because a run with DTMS logs thousands of records and this process shares the cores with
the workers: behind one queue's backlog of records, the display showed the runs seconds
late (a run already ended still shown at 10 %). Progress is read first. Records travel
in bundles and are read as they come, never after a sleep: a pipe holds 64 KiB, and a
parent that polled let them pile up in the workers, so that handing them over once the
runs had ended made two workers slower than one (``bench/compare_jobs.py``).

On SIGINT or SIGTERM the workers are told to stop (a SIGTERM each, except on Windows;
Ctrl-C on a terminal reaches them anyway): each run stops after its cycle and comes back
marked interrupted, as in this process; runs not started yet are dropped. Dropped also
means those a worker already holds (the pool hands each worker its next run ahead, and
that one cannot be cancelled): the workers share a stop flag with this process and start
no run once it is set.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from types import FrameType
from typing import Any, Generic, TypeVar

from .parallel_worker import NotStarted, run_in_worker, start_worker
from .progress import Progress, RunsProgress
from .stop_signals import STOP_SIGNALS, Aborted

_R = TypeVar("_R")

#: Log records handled between two reads of the progress queue.
LOG_BATCH = 200

#: Seconds the parent waits for the workers' next record when none is there: the wait
#: ends as soon as one comes.
WAIT_SECONDS = 0.05

#: Log records handled, while a run is awaited, between two looks at whether it ended
#: (the next run waits for that look: an A/B's same-entries run for the baseline's end).
RECORDS_PER_LOOK = 1000


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Handle(Generic[_R]):
    """A submitted run: :meth:`Runs.result` gives its result."""

    def __init__(self, run_id: int, label: str, data: str, spec: Any) -> None:
        self.run_id, self.label, self.data, self.spec = run_id, label, data, spec
        self.future: Future[_R] | None = None
        self.value: _R | None = None
        self.ran = False


#: How a worker process starts. Linux forks: a worker starts with the modules, plugins
#: and bars this process has (nothing runs in a thread of it yet). Elsewhere a worker is
#: a new interpreter (forking is unsafe on macOS, absent on Windows): the bars are pickled
#: once here rather than once per worker, and each worker loads the plugins again.
START_METHOD = "fork" if sys.platform == "linux" else "spawn"


class Runs(Generic[_R]):
    """Where runs go: ``run_fn(shared[data], spec, progress)`` in a worker process when
    ``jobs`` > 1, else in this process when its result is asked for (so ``--jobs 1``
    runs them in the order the caller reads them). A context manager: leaving it stops
    the workers."""

    def __init__(
        self,
        run_fn: Callable[[Any, Any, Progress | None], _R],
        shared: Mapping[str, Any],
        *,
        jobs: int = 1,
        display: RunsProgress | None = None,
    ) -> None:
        self.run_fn, self.shared, self.jobs, self.display = run_fn, shared, jobs, display
        self.interrupted = False
        self._signals = 0
        self._ids = 0
        self._pids: set[int] = set()
        self._pending: list[Handle[_R]] = []
        self._executor: ProcessPoolExecutor | None = None
        self._queue: Any = None  # pids, progress, runs done
        self._logs: Any = None  # log records
        self._old_handlers: dict[int, Any] = {}
        self._stopped: Any = None  # the stop flag the workers share (the module says why)

    def __enter__(self) -> Runs[_R]:
        if self.jobs > 1:
            fork = START_METHOD == "fork"
            ctx = multiprocessing.get_context(START_METHOD)
            shared = dict(self.shared) if fork else pickle.dumps(dict(self.shared), -1)
            self._queue, self._logs = ctx.Queue(), ctx.Queue()
            self._stopped = ctx.Event()
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=ctx,
                initializer=start_worker,
                initargs=(self._queue, self._logs, self.run_fn, shared, self._stopped),
            )
            for sig in STOP_SIGNALS:
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        if self._executor is not None:
            self._close_workers(self._executor)
            self._queue.close()
            self._logs.close()
        if self.display is not None:
            self.display.finish()

    def submit(self, label: str, spec: Any, data: str = "all") -> Handle[_R]:
        """Start (or, with one job, plan) a run of ``spec`` on the bars ``data``."""
        self._ids += 1
        handle: Handle[_R] = Handle(self._ids, label, data, spec)
        if self._executor is not None and not self.interrupted:
            handle.future = self._executor.submit(run_in_worker, handle.run_id, label, data, spec)
        self._pending.append(handle)
        return handle

    def result(self, handle: Handle[_R], *, keep: bool = True) -> _R | None:
        """The run's result, once it is done; ``None`` when it was dropped because the
        runs were interrupted before it started. ``keep=False``: asked for once, so the
        handle need not hold it (a sweep's hundreds of runs)."""
        if handle.ran:
            return handle.value
        if self._executor is None:
            if not self.interrupted:
                handle.value = self._run_here(handle)
        elif handle.future is not None:
            while not handle.future.done():
                self._drain(WAIT_SECONDS, most=RECORDS_PER_LOOK)
            self._drain_progress()  # its records can follow: the next run need not wait
            if not handle.future.cancelled():
                with contextlib.suppress(NotStarted):  # a worker held it when the stop came
                    handle.value = handle.future.result()
        handle.ran = True
        if handle in self._pending:
            self._pending.remove(handle)
        value = handle.value
        if not keep:
            handle.value = None
        if getattr(value, "interrupted", False):
            self.interrupted = True
        return value

    def _close_workers(self, executor: ProcessPoolExecutor) -> None:
        """Stop the workers, reading what they say until they are gone. A worker exits
        only once everything it put on the queue is in the pipe (multiprocessing joins
        its queue's feeder thread at exit), and a pipe holds 64 KiB: waiting for the
        workers without reading would deadlock on a chatty run's last log records. The
        pool is shut down from a thread so that this one can read meanwhile (no fork
        can follow: the pool is closed)."""
        closer = threading.Thread(
            target=executor.shutdown,
            kwargs={"wait": True, "cancel_futures": True},
            name="runs-shutdown",
        )
        closer.start()
        while closer.is_alive():
            self._drain(WAIT_SECONDS)
        self._drain()

    def _run_here(self, handle: Handle[_R]) -> _R:
        progress = None
        if self.display is not None:
            progress = self.display.run(handle.run_id, handle.label)
        value: _R = self.run_fn(self.shared[handle.data], handle.spec, progress)
        return value

    def _drain(self, wait: float = 0.0, *, most: int | None = None) -> None:
        """What the workers said so far: progress to the display, log records (``most`` at
        most) to this process's handlers, the progress queue read again every
        :data:`LOG_BATCH` records. ``wait``: seconds to wait for a first record when none
        is there, a wait that ends as soon as one comes (never a sleep between reads: the
        module's docstring says why)."""
        left = most
        while True:
            self._drain_progress()
            batch = LOG_BATCH if left is None else min(LOG_BATCH, left)
            handled = self._drain_logs(batch, wait)
            wait = 0.0
            if left is not None:
                left -= handled  # past zero when a bundle ends beyond it
            if handled < batch or (left is not None and left <= 0):
                self._drain_progress()
                return

    def _drain_progress(self) -> None:
        while True:
            message = _next(self._queue)
            if message is None:
                return
            kind, *rest = message
            if kind == "pid":
                self._pids.add(rest[0])
                if self.interrupted:  # the stop came before this worker said who it is
                    _stop_worker(rest[0])
            elif self.display is not None and kind == "progress":
                self.display.update(*rest)
            elif self.display is not None and kind == "done":
                self.display.done(rest[0])

    def _drain_logs(self, most: int, wait: float = 0.0) -> int:
        """The workers' bundles of log records to their loggers, until ``most`` records
        or more (a bundle is read whole; waiting ``wait`` seconds at most for the first);
        how many there were."""
        handled = 0
        while handled < most:
            bundle: list[logging.LogRecord] | None = _next(self._logs, 0.0 if handled else wait)
            if bundle is None:
                return handled
            for record in bundle:
                logging.getLogger(record.name).handle(record)
            handled += len(bundle)
        return handled

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Stop: runs not started are dropped, running ones are told to stop (SIGTERM:
        a signal sent to this process alone must reach them too) and come back marked
        interrupted after their cycle. A second SIGINT aborts at once."""
        self._signals += 1
        if self._signals > 1 and signum == signal.SIGINT:
            raise Aborted
        print(
            f"\nhostapp: {signal.Signals(signum).name}, stopping the runs after this cycle",
            file=sys.stderr,
        )
        self.interrupted = True
        self._stopped.set()  # before the SIGTERMs: a worker that stops looks at it next
        for handle in self._pending:
            if handle.future is not None:
                handle.future.cancel()
        for pid in self._pids:
            _stop_worker(pid)


def _stop_worker(pid: int) -> None:
    """Tell worker ``pid`` to stop its run after the cycle: a SIGTERM. Not on Windows,
    where ``os.kill`` ends a process on the spot (TerminateProcess: its run lost, the pool
    broken); there a Ctrl-C reaches every process of the console, the workers too, and
    the stop flag keeps them from starting another run."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):  # a worker gone already
        os.kill(pid, signal.SIGTERM)


def _next(q: Any, wait: float = 0.0) -> Any:
    """The next message of ``q`` (waiting ``wait`` seconds at most for one), ``None`` when
    there is none (or the queue is closed)."""
    try:
        return q.get(timeout=wait) if wait > 0 else q.get_nowait()
    except (queue.Empty, OSError, ValueError):
        return None
