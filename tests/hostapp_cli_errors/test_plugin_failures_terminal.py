"""What a run says on the terminal of third-party plugins that fail: one line per episode
of failures of a plugin's hook, never a traceback (the report's hostapp.log keeps the
traceback of a plugin's own exception), and the summary's note counts the failures. The
plugins are installed as any third party's: an entry point of a distribution on
sys.path; ``hostapp run`` is a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder
from support.plugin_dist import install

PLUGINS = textwrap.dedent(
    """
    import asyncio
    from hookspecs import hookimpl

    class Slow:
        @hookimpl
        async def on_trade_executed(self, host, trade):
            await asyncio.sleep(3)  # past its timeout_seconds

    class WrongOrders:
        @hookimpl
        def propose_orders(self, host, symbol, bars, now):
            return {"symbol": symbol}

    class NotABool:
        @hookimpl
        def is_defensive(self, host, ticket):
            return "no"

    class Sometimes:
        def __init__(self):
            self.calls = 0

        @hookimpl
        def on_cycle(self, host, now):
            self.calls += 1
            if self.calls % 2:
                raise RuntimeError("now and then")
    """
)
ENTRY_POINTS = {
    "slow": "Slow",
    "wrongorders": "WrongOrders",
    "notabool": "NotABool",
    "sometimes": "Sometimes",
}
CONFIG = '[host]\nsymbols = ["XAUUSD"]\n[plugin.slow]\ntimeout_seconds = 0.5\n'


def test_failing_plugins_are_one_line_each_on_the_terminal(tmp_path: Path) -> None:
    env = install(tmp_path, PLUGINS, ENTRY_POINTS)
    (tmp_path / "plugins.toml").write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "2", "--report", "rep",
         "--no-compare"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in done.stderr.splitlines() if not line.startswith("run: ")]
    failures = [line for line in said if " more failure" not in line]
    assert "Traceback" not in done.stderr and all(" ERROR " in ln for ln in failures), said
    for wanted in (
        "plugin slow: on_trade_executed failed: timed out after 0.5s",
        "plugin wrongorders: propose_orders failed: TypeError: propose_orders must return a "
        "list of OrderRequest, got {'symbol': 'XAUUSD'}",
        "plugin notabool: is_defensive failed: TypeError: is_defensive must return a bool, "
        "got 'no'",
        "plugin sometimes: on_cycle failed: RuntimeError: now and then (traceback in hostapp.log)",
    ):
        assert sum(wanted in line for line in said) == 1, (wanted, said)
    # the count ends the episode, in the words of an end, not as one more failure
    (more,) = [line for line in said if "sometimes: on_cycle" in line and "more failure" in line]
    assert more.endswith(
        " WARNING hostapp.plugins: plugin sometimes: on_cycle until the run ended: 287 more "
        "failures in 575 calls since its first failure"
    ), said
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert log.count("Traceback") == 1 and 'raise RuntimeError("now and then")' in log
    notes = json.loads((tmp_path / "rep" / "summary.json").read_text())["host_notes"]
    (note,) = [n for n in notes if n.startswith("plugin sometimes")]
    assert "failed calls: 288 of on_cycle" in note


ODD = textwrap.dedent(
    """
    from hookspecs import hookimpl

    class Odd:
        @hookimpl
        def on_cycle(self, host, now):
            pass

        def on_trade_closed(self, host, trade, reason):  # no @hookimpl: never called
            pass
    """
)


def test_a_plugins_load_warnings_reach_the_terminal_once(tmp_path: Path) -> None:
    """They were written to hostapp.log alone, in each of the three runs of ``hostapp
    run``'s A/B: a user saw them only in ``hostapp plugins``."""
    env = install(tmp_path, ODD, {"odd": "Odd"})
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[plugin.odd]\nlimit = 3\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "2", "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said = [ln for ln in done.stderr.splitlines() if not ln.startswith(("run: ", "A/B: "))]
    assert len(said) == 2 and all(" WARNING " in line for line in said), said
    assert "plugin odd: " in said[0] and "on_trade_closed" in "".join(said)
    assert sum("[plugin.odd]: key(s) limit checked by no one" in line for line in said) == 1
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert log.count("checked by no one") >= 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_a_b_says_each_failure_once_per_run_naming_the_run(tmp_path: Path, jobs: str) -> None:
    """Each run of the A/B replays the same bars, and its plugin fails the same way: each
    line names its run (``[without]``), in this process or from a worker (``--jobs 2``),
    whose records reach the parent's handlers with the traceback apart from the message,
    so the terminal still gets the line alone."""
    env = install(tmp_path, PLUGINS, {"sometimes": "Sometimes"})
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    bars_folder(tmp_path, bars=600, config=False)
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare",
         "--jobs", jobs, "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in done.stderr.splitlines() if "sometimes: on_cycle " in line]
    assert "Traceback" not in done.stderr and said, done.stderr[-3000:]
    first = [line for line in said if "more failures" not in line]
    assert first and all(line.endswith("(traceback in hostapp.log)") for line in first), said
    runs = sorted(line.split(" [", 1)[1].split("]", 1)[0] for line in first)
    assert runs == ["full", "same_entries", "without"], said
    # each run's count of its episode too, though the three read the same
    ends = [line for line in said if "on_cycle until the run ended: " in line]
    assert sorted(line.split(" [", 1)[1].split("]", 1)[0] for line in ends) == runs, said
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert log.count("Traceback") >= 2 and 'raise RuntimeError("now and then")' in log
