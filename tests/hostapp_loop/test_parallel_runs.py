"""Worker processes of the parallel runs: a run that logs a lot has every record reach the
parent's handlers, in order, and leaving the runs does not wait forever on workers that still have
records to hand over (each worker's queue must be read while it exits; a pipe holds
64 KiB); workers whose parent was killed do not stay behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys, time
    from hostapp.parallel import Runs

    LINES, WARN, SLOW = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

    def chatty(shared, spec, progress):
        log = logging.getLogger("chatty")
        for i in range(LINES):
            warns = WARN and i % WARN == WARN - 1  # a warning ends a worker's bundle early
            (log.warning if warns else log.info)("run %s line %d %s", spec, i, shared)
        return spec * 10

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__()
            self.seen = []

        def emit(self, record):
            self.seen.append(record.getMessage())
            if SLOW:
                time.sleep(SLOW)  # a parent behind its workers: a backlog of records

    keep = Keep()
    logging.getLogger().addHandler(keep)
    logging.getLogger().setLevel(logging.INFO)
    with Runs(chatty, {"all": "x" * 200}, jobs=2) as runs:
        handles = [runs.submit(f"run {i}", i) for i in range(3)]
        results = [runs.result(h) for h in handles]
    lasts = sorted(m.split(" x")[0] for m in keep.seen if m.split()[3] == str(LINES - 1))
    lines = {}
    for m in keep.seen:
        lines.setdefault(m.split()[1], []).append(int(m.split()[3]))
    in_order = all(seen == sorted(seen) for seen in lines.values())
    print(json.dumps({"results": results, "records": len(keep.seen), "lasts": lasts,
                      "in_order": in_order}))
    """
)


@pytest.mark.parametrize(
    ("lines", "warn_every", "slow"),
    [
        (2000, 0, 0.0),  # about 600 KB of records per run: far more than a pipe holds
        # bundles of 7 records: the parent's count of records to read before it looks at
        # the run again went past zero, and it read on for ever (a sweep hung at its
        # first baseline, a big file's thousands of records)
        (3000, 7, 0.0002),
    ],
)
def test_chatty_workers_hand_over_every_record_and_exit(
    tmp_path: Path, lines: int, warn_every: int, slow: float
) -> None:
    script = tmp_path / "chatty.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(lines), str(warn_every), str(slow)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # on a hang, its workers go with it
    )
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, stderr
    out = json.loads(stdout)
    assert out["results"] == [0, 10, 20]
    assert out["records"] == 3 * lines
    assert out["lasts"] == [f"run {i} line {lines - 1}" for i in range(3)]
    assert out["in_order"]  # each run's records in the order they were logged


ORPHANS = textwrap.dedent(
    """
    import os, time
    from hostapp.parallel import Runs

    def pid_then_wait(shared, spec, progress):
        if spec == "pid":
            time.sleep(0.3)  # both workers take one each
            return os.getpid()
        time.sleep(60)

    with Runs(pid_then_wait, {"all": None}, jobs=2) as runs:
        pids = [runs.submit("pid", "pid") for _ in range(2)]
        print(*sorted({runs.result(h) for h in pids}), flush=True)
        runs.result(runs.submit("long", "long"))
    """
)


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie nobody reaped has ended all the same


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "orphans.py"
    script.write_text(ORPHANS)
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(w) for w in workers)
        parent.kill()  # SIGKILL: the parent cannot tell its workers anything
        parent.wait(10)
        deadline = time.monotonic() + 20
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.communicate()


SLOW_START = textwrap.dedent(
    """
    import os, signal, threading, time
    from hostapp.parallel import Runs

    def slow_start(shared, spec, progress):
        time.sleep(1.5)  # building the run: no handler of its own yet
        stop = []
        old = signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            for i in range(300):  # the loop: a progress report, then a cycle
                progress(i, 300)
                if stop:
                    return "interrupted"
                time.sleep(0.01)
            return "finished"
        finally:
            signal.signal(signal.SIGTERM, old)

    threading.Timer(0.7, os.kill, (os.getpid(), signal.SIGINT)).start()
    with Runs(slow_start, {"all": None}, jobs=2) as runs:
        handles = [runs.submit(f"run {i}", i) for i in range(2)]
        print(*[runs.result(h) for h in handles])
    """
)


def _assert_both_stopped(tmp_path: Path, name: str, text: str) -> None:
    """Run the script ``text``: it stops its two runs with a SIGINT and prints what
    each came back as; both must have been interrupted."""
    script = tmp_path / name
    script.write_text(text)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "stopping the runs after this cycle" in done.stderr
    assert done.stdout.split() == ["interrupted", "interrupted"]


def test_a_stop_while_the_runs_are_being_built_still_stops_them(tmp_path: Path) -> None:
    _assert_both_stopped(tmp_path, "slow_start.py", SLOW_START)


#: A run of three seconds that stops, answering "interrupted", when told to (SIGTERM).
LONG_RUN = textwrap.dedent(
    """
    import os, signal, threading, time
    from hostapp.parallel import Runs

    def long_run(shared, spec, progress):
        stop = []
        old = signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            for i in range(300):
                progress(i, 300)
                if stop:
                    return "interrupted"
                time.sleep(0.01)
            return "finished"
        finally:
            signal.signal(signal.SIGTERM, old)

    """
)

UNANNOUNCED = LONG_RUN + textwrap.dedent(
    """
    with Runs(long_run, {"all": None}, jobs=2) as runs:
        handles = [runs.submit(f"run {i}", i) for i in range(2)]
        time.sleep(1.0)  # both run; what they said (their pids) is not read yet
        os.kill(os.getpid(), signal.SIGINT)
        print(*[runs.result(h) for h in handles])
    """
)


def test_a_stop_before_the_workers_are_known_still_reaches_them(tmp_path: Path) -> None:
    """The parent learns a worker's pid from the queue it reads while waiting for
    results; a stop that comes before that read must still reach the worker (on a loaded
    machine the run without DTMS of an A/B went on to its end)."""
    _assert_both_stopped(tmp_path, "unannounced.py", UNANNOUNCED)


BEHIND = textwrap.dedent(
    """
    import io, json, logging, time
    from hostapp.parallel import Runs
    from hostapp.progress import RunsProgress

    RECORDS = 3000

    def chatty_then_done(shared, spec, progress):
        log = logging.getLogger("chatty")
        for i in range(RECORDS):
            log.info("line %d", i)
        progress(1, 1)  # the run is over: what the display must show
        return spec

    class Slow(logging.Handler):  # a parent busy beside its workers: 1 ms a record
        def __init__(self):
            super().__init__()
            self.seen = 0

        def emit(self, record):
            time.sleep(0.001)
            self.seen += 1

    slow = Slow()
    logging.getLogger().addHandler(slow)
    logging.getLogger().setLevel(logging.INFO)
    shown = []

    class Display(RunsProgress):
        def update(self, run_id, label, done, total):
            if done >= total:
                shown.append(slow.seen)  # records handled when the end was shown
            super().update(run_id, label, done, total)

    display = Display(1, "runs", stream=io.StringIO(), tty=False)
    with Runs(chatty_then_done, {"all": None}, jobs=2, display=display) as runs:
        result = runs.result(runs.submit("one", 7))
    print(json.dumps({"result": result, "shown_after": shown, "records": slow.seen}))
    """
)


def test_progress_is_shown_ahead_of_a_backlog_of_log_records(tmp_path: Path) -> None:
    """A run that logs 3,000 records and then reports its end, to a parent that takes
    1 ms per record: the display shows the end long before the records are all handled
    (behind them it would come after every one, ~3 s late); none is lost."""
    script = tmp_path / "behind.py"
    script.write_text(BEHIND)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["result"] == 7 and out["records"] == 3000
    assert len(out["shown_after"]) == 1
    assert out["shown_after"][0] < 1500, out  # behind one queue: 3000


QUEUED = LONG_RUN + textwrap.dedent(
    """
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    with Runs(long_run, {"all": None}, jobs=2) as runs:
        handles = [runs.submit(f"run {i}", i) for i in range(6)]
        print(*[runs.result(h) for h in handles])
    """
)


def test_a_stop_drops_the_runs_the_workers_already_hold(tmp_path: Path) -> None:
    """Six runs on two workers: the pool hands each worker its next run ahead, where it
    cannot be cancelled. A stop 1 s in stops the two running and starts none of the
    others (they went through all their cycles after a Ctrl-C)."""
    script = tmp_path / "queued.py"
    script.write_text(QUEUED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "interrupted"] + ["None"] * 4


def test_a_stopped_run_is_not_counted_as_done() -> None:
    """After a Ctrl-C the display says how many runs went through all their bars: a run
    stopped half-way is said as stopped, and the line never reads 100 %."""
    import io

    from hostapp.progress import RunsProgress

    out = io.StringIO()
    display = RunsProgress(3, "sweep", stream=out, tty=False)
    whole, stopped = display.run(1, "#1"), display.run(2, "#2")
    for i in range(1, 101):
        whole(i, 100)
        stopped(min(i, 50), 100)
    whole.finish()
    stopped.finish()
    display.finish()
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if "100%" in line or "2/3" in line]
    terminal = io.StringIO()
    display = RunsProgress(2, "sweep", stream=terminal, tty=True)
    display.run(1, "#1")(50, 100)
    display.done(1)
    display.finish()
    assert "0/2 runs, 1 stopped" in terminal.getvalue().rsplit("\r", 1)[-1]
