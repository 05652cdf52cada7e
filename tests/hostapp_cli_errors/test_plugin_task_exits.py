"""A ``SystemExit`` in an asyncio task a plugin started itself (``asyncio.create_task`` or
``loop.create_task`` in a hook, then ``sys.exit()`` in that coroutine) ends that task
alone: said once in one line naming the coroutine and its module, and the run goes on
with every plugin, the one whose task it was too (hostapp.event_loop). It ended ``hostapp
run`` and ``run --live`` with the plugin's exit code, no shutdown and no summary. A real
Ctrl-C still stops the run as before. ``hostapp`` is a real process; the plugin is a
third party's entry point."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support.plugin_dist import hostapp, install

from hostapp import event_loop

PLUGIN = textwrap.dedent(
    """
    import asyncio
    import sys
    from pathlib import Path
    from hookspecs import hookimpl

    async def leave():
        await asyncio.sleep(0)
        sys.exit(3)

    class Quitter:
        "Every 50th cycle, a task of its own that exits; it counts every cycle it sees."
        def __init__(self):
            self.cycles = 0

        @hookimpl
        def on_cycle(self):
            self.cycles += 1
            if self.cycles % 50 == 1:
                START

        @hookimpl
        def run_report(self):
            return {"activity": self.cycles}

    class LiveQuitter:
        "Its task exits at startup; once it has, each cycle says the plugin still runs."
        def __init__(self):
            self.task = None
            self.said = False

        @hookimpl
        def startup(self):
            self.task = asyncio.get_running_loop().create_task(leave())

        @hookimpl
        def on_cycle(self):
            if self.task.done() and not self.said:
                self.said = True
                print("STILL CYCLING", file=sys.stderr, flush=True)

        @hookimpl
        def shutdown(self):
            Path("shutdown-ran").write_text("yes")
    """
)
ENTRY_POINTS = {"quitter": "Quitter", "live_quitter": "LiveQuitter"}
THE_LINE = "task leave of module probe_plugins raised SystemExit: 3: it ended alone, the host"


def _configure(tmp_path: Path, start: str, off: str) -> dict[str, str]:
    env = install(tmp_path, PLUGIN.replace("START", start), ENTRY_POINTS)
    (tmp_path / "plugins.toml").write_text(
        f'[host]\nsymbols = ["XAUUSD"]\ncycle_seconds = 30\n[plugins]\ndisabled = ["{off}"]\n'
    )
    return env


@pytest.mark.parametrize(
    "start", ["asyncio.create_task(leave())", "asyncio.get_running_loop().create_task(leave())"]
)
def test_a_plugins_task_that_exits_ends_alone_and_the_run_goes_on(
    tmp_path: Path, start: str
) -> None:
    env = _configure(tmp_path, start, "live_quitter")
    done = hostapp(tmp_path, env, "run", "--days", "2", "--report", "rep", "--no-compare")
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in done.stderr.splitlines() if not line.startswith("run: ")]
    assert "Traceback" not in done.stderr and "Task exception" not in done.stderr, said
    # twelve tasks exited: one line says it
    assert [line for line in said if "SystemExit" in line] == [
        line for line in said if THE_LINE in line
    ]
    assert sum(THE_LINE in line for line in said) == 1, said
    assert "trades opened" in done.stdout
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["plugin_reports"]["quitter"] == {"activity": summary["cycles"]}
    assert summary["cycles"] == 2 * 288 and summary["trades"] > 0
    assert {"quitter", "dtms", "exits"} <= set(summary["plugins"])
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert 'probe_plugins.py", line 9, in leave' in log  # its traceback, in the log


def test_live_a_plugins_task_that_exits_ends_alone_and_ctrl_c_still_stops(
    tmp_path: Path,
) -> None:
    env = _configure(tmp_path, "pass", "quitter")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "60",
         "--report", "rep"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "STILL CYCLING" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + rest
    assert "STILL CYCLING" in err, err[-3000:]
    assert proc.returncode == 130, err[-3000:]
    assert sum(THE_LINE in line for line in err.splitlines()) == 1, err[-3000:]
    assert "Traceback" not in err and "Task exception" not in err
    assert (tmp_path / "shutdown-ran").read_text() == "yes"
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert "live_quitter" in summary["plugins"]
    assert "report:" in out


async def _raises_in_a_task(exc: BaseException) -> str:
    async def other() -> None:
        raise exc

    asyncio.get_running_loop().create_task(other())
    for _ in range(5):
        await asyncio.sleep(0)
    return "went on"


def test_what_stays_the_commands_goes_on_up() -> None:
    """The command's own SystemExit, and a KeyboardInterrupt from any task (the user's
    abort), end the loop as asyncio.run's did; another task's SystemExit does not."""

    async def exits() -> None:
        sys.exit(4)

    with pytest.raises(SystemExit) as info:
        event_loop.run(exits())
    assert info.value.code == 4
    with pytest.raises(KeyboardInterrupt):
        event_loop.run(_raises_in_a_task(KeyboardInterrupt()))
    assert event_loop.run(_raises_in_a_task(SystemExit(5))) == "went on"


def test_a_task_that_exits_as_the_command_returns_leaves_the_command_its_answer() -> None:
    """The command's coroutine returns in the loop pass in which a plugin's task exits:
    the stop its return queued is still to come, and the loop's shutdown (the executor,
    async generators) runs after it, not into it."""

    async def leave() -> None:
        sys.exit(3)

    async def command() -> str:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: None)  # Runner.close() shuts it down
        loop.create_task(leave())  # noqa: RUF006 - a plugin keeps no reference either
        return "done"

    assert event_loop.run(command()) == "done"
