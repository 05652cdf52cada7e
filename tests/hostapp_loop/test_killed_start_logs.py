"""A live start killed while it hangs, before its run began, leaves its log lines for the
next start to append to the log (hostapp/logs.py, ``ReportLog``).

A live run's lines are held until its run starts, so that a refused start rotates no log
away (tests/hostapp_loop/test_refused_start_logs.py); but a start that hung (a terminal
that never answers, a plugin's startup that blocks) and was killed by its service manager
left no line at all: the operator could not tell what it was doing. Real processes: a
plugin, installed as any third party's is, logs a line in its ``startup`` and blocks;
the test kills the host there (SIGKILL), then starts it again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAID = "waiting for the terminal that never answers"

HANGS = textwrap.dedent(
    f"""
    import logging, os, time
    from hookspecs import hookimpl

    class HangsAtStart:
        @hookimpl
        def startup(self, host):
            if os.environ.get("HANG_AT_START"):
                logging.getLogger("hangs").warning("{SAID}")
                time.sleep(600)
    """
)


def _env(plugins: Path) -> dict[str, str]:
    plugins.mkdir(exist_ok=True)
    (plugins / "hangs_at_start.py").write_text(HANGS)
    dist = plugins / "hangs_at_start-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hangs-at-start\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\nhangs = hangs_at_start:HangsAtStart\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return env


def _argv(days: int) -> list[str]:
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", "rep"]
    return [sys.executable, "-m", "hostapp.cli", *argv]


def test_a_start_killed_while_it_hangs_leaves_its_lines_to_the_next(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    env = _env(tmp_path / "plugins")
    first = subprocess.run(_argv(1), cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    log = tmp_path / "rep" / "hostapp.log"
    before = log.read_text(encoding="utf-8")

    hung = subprocess.Popen(
        _argv(2), cwd=tmp_path, env={**env, "HANG_AT_START": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    side = tmp_path / "rep" / "hostapp.log.starting"
    deadline = time.monotonic() + 120
    try:
        while not (side.is_file() and SAID in side.read_text(encoding="utf-8")):
            assert hung.poll() is None, "the start did not hang"
            assert time.monotonic() < deadline, "no line of the hung start on disk"
            time.sleep(0.1)
    finally:
        hung.send_signal(signal.SIGKILL)
        hung.wait(timeout=60)
    assert log.read_text(encoding="utf-8") == before  # the earlier run's log, untouched

    again = subprocess.run(_argv(2), cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not side.exists()
    kept = (tmp_path / "rep" / "hostapp.log.1").read_text(encoding="utf-8")
    assert kept.startswith(before)  # the earlier run's log, then the killed start's lines
    added = kept[len(before) :]
    assert added.startswith("--- these lines are of a start killed before its run began")
    assert SAID in added
    assert SAID not in log.read_text(encoding="utf-8")  # not the new run's


def test_the_killed_start_s_lines_are_kept_while_the_log_cannot_take_them(tmp_path: Path) -> None:
    """A log that cannot be appended to (a full disk; here a folder in its place) keeps
    the side file for a start that can write it, rather than deleting its lines."""
    from hostapp.logs import ReportLog

    log = tmp_path / "hostapp.log"
    side = tmp_path / "hostapp.log.starting"
    side.write_text(f"WARNING hangs: {SAID}\n")
    log.mkdir()
    ReportLog(str(log), held=True).close()
    assert side.read_text() == f"WARNING hangs: {SAID}\n"
    log.rmdir()
    ReportLog(str(log), held=True).close()
    assert not side.exists()
    assert SAID in log.read_text()
