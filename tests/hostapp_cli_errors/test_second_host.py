"""A second host started beside a running one, in real processes: on the running host's
paper account file (from another folder, or in the same folder), or writing into its
report folder, it is refused at start-up in one line naming what is taken and the process
holding it (exit 2), and leaves the running host's files as they were. The running host
is a real ``hostapp run --live``, paced an hour a bar, with a plugin that says on stderr
when it has started (so the host holds all it claims); it is stopped by the test."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtms_plugin.store import Store

MARKER = textwrap.dedent(
    """
    import sys
    from hookspecs import hookimpl

    class Marker:
        @hookimpl
        def startup(self):
            print("MARKER started", file=sys.stderr, flush=True)
    """
)
FAST = ("--speed", "100000", "--days", "1")  # every bar is history: the run ends at once


def _config(folder: Path, account: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "plugins.toml"
    config.write_text(
        f'[host]\nsymbols = ["XAUUSD"]\ncycle_seconds = 3600\n'
        f'[host.paper]\naccount_file = "{account}"\n'
    )
    return config


def _env(plugins: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    if plugins is not None:  # the marker, installed as any third party's plugin is
        plugins.mkdir(exist_ok=True)
        (plugins / "marker_plugin.py").write_text(MARKER)
        dist = plugins / "marker_plugin-0.1.dist-info"
        dist.mkdir(exist_ok=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: marker-plugin\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text("[hostapp]\nmarker = marker_plugin:Marker\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return env


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", *args],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def running(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A live host in ``tmp_path/a`` on ``a/account.sqlite``, once it has started."""
    folder = tmp_path / "a"
    _config(folder, "account.sqlite")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "run", "--live"],
        cwd=folder, env=_env(tmp_path / "plugins"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []
    end = time.monotonic() + 120  # a guard only: the host says it has started
    while time.monotonic() < end:
        line = proc.stderr.readline()
        seen.append(line)
        if not line or "MARKER started" in line:
            break
    assert seen and "MARKER started" in seen[-1], "".join(seen)
    # its log is written from the run's start, just after the plugins' (hostapp/live_start.py)
    log = folder / ".hostapp" / "live" / "hostapp.log"
    while time.monotonic() < end and not (log.is_file() and log.stat().st_size):
        time.sleep(0.05)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr[-3000:]
    (line,) = proc.stderr.splitlines()
    return line


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    return err


def test_a_host_on_the_account_file_of_a_running_one_is_refused(
    tmp_path: Path, running: subprocess.Popen[str]
) -> None:
    account = tmp_path / "a" / "account.sqlite"
    _config(tmp_path / "b", str(account))
    line = _one_line(_run(tmp_path / "b", *FAST))
    assert line == (
        f"hostapp: plugins.toml [host.paper] account_file {account}: another host trades on "
        f"it (pid {running.pid} in {tmp_path / 'a'}); two hosts on one account would each "
        "quote it from their own clock and close each other's trades (stop that one, or "
        "give this one an account_file of its own)"
    )
    assert not (tmp_path / "b" / ".hostapp").exists()  # no report, no DTMS state begun

    running.kill()  # however it ends, the account is free again: no stale lock
    running.communicate(timeout=60)
    after = _run(tmp_path / "b", *FAST)
    assert after.returncode == 0, after.stderr[-3000:]
    with sqlite3.connect(account) as db:
        backwards = db.execute("SELECT count(*) FROM history WHERE closed_at < opened_at")
        assert backwards.fetchone()[0] == 0


def test_a_second_start_in_the_same_folder_leaves_the_running_hosts_files_alone(
    tmp_path: Path, running: subprocess.Popen[str]
) -> None:
    log = tmp_path / "a" / ".hostapp" / "live" / "hostapp.log"
    before = log.read_bytes()
    assert before  # the running host has logged its start
    line = _one_line(_run(tmp_path / "a", *FAST))
    assert "[host.paper] account_file account.sqlite: another host trades on it" in line
    assert f"(pid {running.pid} in {tmp_path / 'a'})" in line
    assert log.read_bytes() == before

    _stop(running)
    after = log.read_bytes()
    assert after.startswith(before) and b"\0" not in after  # written on, never cut


def test_a_command_writing_the_report_folder_of_a_running_one_is_refused(
    tmp_path: Path, running: subprocess.Popen[str]
) -> None:
    """Its own account and DTMS state, but the running host's report folder."""
    other = tmp_path / "a" / "other.toml"
    other.write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "other.sqlite"\n'
        '[plugin.dtms]\nstate_dir = "other-dtms"\n'
    )
    log = tmp_path / "a" / ".hostapp" / "live" / "hostapp.log"
    before = log.read_bytes()
    line = _one_line(_run(tmp_path / "a", "--config", "other.toml", *FAST))
    assert line == (
        f"hostapp: --report .hostapp/live: another hostapp command writes its report there "
        f"(pid {running.pid} in {tmp_path / 'a'}); wait for it to end, or give this one its "
        "own --report"
    )
    assert log.read_bytes() == before
    _stop(running)


def test_a_plugin_that_cannot_take_its_state_stops_the_run_in_one_line(tmp_path: Path) -> None:
    """DTMS's store held by another engine (this test's process): the host's own report
    and account are free, the plugin refuses at its start-up, and the terminal gets the
    one line that names its table, no traceback; the log says it too."""
    _config(tmp_path, "account.sqlite")
    store = Store(str(tmp_path / ".hostapp" / "dtms"))
    try:
        store.claim_engine()
        line = _one_line(_run(tmp_path, *FAST))
    finally:
        store.close()
    assert line.startswith("hostapp: plugins.toml [plugin.dtms]: cannot start: StoreError: ")
    assert f"another DTMS engine (pid {os.getpid()})" in line
    log = (tmp_path / ".hostapp" / "live" / "hostapp.log").read_text()
    assert "plugin dtms: cannot start: startup: StoreError: " in log
    assert "Traceback" not in log
