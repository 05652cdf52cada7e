"""A Ctrl-C while ``dtms serve`` is still starting (importing the host, opening the store,
binding the port) ends it with one line and exit 130, never a traceback from wherever the
signal fell. The child runs with ``-X importtime`` so the test can send SIGINT right after
a chosen module has been imported, a point inside start-up on a fast or a loaded machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

#: Modules imported one after another inside ``dtms serve``'s ``main`` (``dtms_plugin.cli``
#: itself runs as ``__main__`` and never shows by name); SIGINT follows each.
AFTER_IMPORT = ("hostapp.config", "aiohttp.web", "hostapp.serve")
#: A child that never imports the module (or never stops) is killed after this long.
DEADLINE_SECONDS = 60.0


@pytest.mark.parametrize("module", AFTER_IMPORT)
def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path, module: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "dtms_plugin.cli", "serve", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    seen: list[str] = []
    reached = False
    watchdog = threading.Timer(DEADLINE_SECONDS, child.kill)
    watchdog.start()
    try:
        for line in child.stderr:
            seen.append(line)
            # "import time:  self [us] | cumulative | module", written once it is imported
            if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == module:
                reached = True
                break
        child.send_signal(signal.SIGINT)
        rest_out, rest_err = child.communicate(timeout=DEADLINE_SECONDS)
    finally:
        watchdog.cancel()
        _stop(child)
    assert reached, f"{module} was never imported: {''.join(seen)[-2000:]}"
    errors = [
        line for line in [*seen, *rest_err.splitlines()] if not line.startswith("import time:")
    ]
    assert not any("Traceback" in line for line in errors), "".join(errors)
    assert child.returncode in (0, 130), (child.returncode, errors, rest_out)
    if child.returncode == 130:
        assert any(line.startswith("dtms: interrupted") for line in errors), errors


def test_sigterm_while_the_bars_are_read_is_one_line(tmp_path: Path) -> None:
    """``systemctl stop`` or ``docker stop`` sends SIGTERM: landing before the run's own
    handlers (here while the replay waits on its file, a FIFO no one writes yet) it ends
    the command as Ctrl-C does, one line and exit 130, not a silent death by the signal."""
    fifo = tmp_path / "XAUUSD.csv"
    os.mkfifo(fifo)
    child = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "replay", str(fifo), "--report", "out"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = None
    try:
        give_up = time.monotonic() + DEADLINE_SECONDS
        while writer is None:  # a write end opens only once the replay has the file open
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert child.poll() is None and time.monotonic() < give_up, child.stderr
                time.sleep(0.05)
        _wait_blocked_in_read(child.pid)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=DEADLINE_SECONDS)
    finally:
        if writer is not None:
            os.close(writer)
        _stop(child)
    assert child.returncode == 130, (child.returncode, err)
    assert "Traceback" not in err and out == ""
    assert err.splitlines() == [
        "hostapp: interrupted before it could stop in order; what it had not written yet is missing"
    ]


def _wait_blocked_in_read(pid: int) -> None:
    """Until the child sleeps in its read of the FIFO. A signal that arrives as its open
    returns, before the read starts, is noted by Python but not acted on until a point
    the C read never reaches (the read then blocks for good): a race of the test, which
    a signal sent to a blocked read cannot lose. Where the kernel does not tell (no
    ``wchan``), a moment's wait stands in for it."""
    give_up = time.monotonic() + DEADLINE_SECONDS / 2
    while time.monotonic() < give_up:
        try:
            waiting_in = Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            break
        if waiting_in.endswith("pipe_read"):  # pipe_read, anon_pipe_read: kernels differ
            return
        time.sleep(0.01)
    time.sleep(0.5)


def _stop(child: subprocess.Popen[str]) -> None:
    """Kill a child still running and close its pipes: a test that failed leaves no open
    file to be reported against whichever test runs when it is collected."""
    if child.poll() is None:
        child.kill()
        child.wait()
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()
