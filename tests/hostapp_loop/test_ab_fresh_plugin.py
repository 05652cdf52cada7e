"""Each run of an A/B gets a fresh plugin, whatever ``--jobs`` says (README): a plugin
object that cannot be deep-copied (it holds a lock) was shared by the runs of one
process, so with ``--jobs 1`` its counts grew run after run (242, 484, 727) where the
workers of the default gave 242, 484, 243. Installed as a third party's (an entry point
of a distribution on sys.path), ``hostapp replay --compare`` a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hostapp.market.synthetic import generate_bars

PLUGIN = textwrap.dedent(
    """
    import threading
    from hookspecs import hookimpl

    class Counting:
        def __init__(self):
            self.lock = threading.Lock()  # deepcopy refuses it
            self.seen = []

        @hookimpl
        def on_trade_executed(self, trade):
            self.seen.append(trade.ticket)

        @hookimpl
        def run_report(self):
            return {"activity": len(self.seen), "seen": len(self.seen)}

    plugin = Counting()
    """
)


def _replay(tmp_path: Path, jobs: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "exits",
         "--jobs", jobs, "--json", "--report", f"rep{jobs}"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    return env


def test_an_ab_of_a_plugin_that_cannot_be_copied_is_the_same_whatever_jobs_says(
    tmp_path: Path,
) -> None:
    (tmp_path / "counting_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "counting_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: counting-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\ncounting = counting_plugin:plugin\n")
    bars = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 1500, seed=3)
    rows = "".join(
        f"{b.time:%Y-%m-%d %H:%M},{b.open:.2f},{b.high:.2f},{b.low:.2f},{b.close:.2f}\n"
        for b in bars
    )
    (tmp_path / "XAUUSD.csv").write_text("time,open,high,low,close\n" + rows)
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    seen = {}
    for jobs in ("1", "2"):
        compared = _replay(tmp_path, jobs)
        seen[jobs] = [
            compared[run][side]["plugin_reports"]["counting"]["seen"]
            for run in ("full", "same_entries")
            for side in ("with", "without")
        ]
    assert seen["1"] == seen["2"] and seen["1"][0] > 0, seen
    assert seen["1"][2] == seen["1"][3]  # the same entries: the same trades seen
