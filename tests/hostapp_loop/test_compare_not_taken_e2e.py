"""The A/B's "baseline trades not taken, vetoed by …" end to end: a real replay through
the command with a plugin installed as any third party's is (an entry point of a
distribution on sys.path) that vetoes every entry proposed in an odd hour and writes down
each one. The full run's skipped entries are matched to their causes on the time the
loop proposed them, the symbol and the side; the baseline's trades are dated by the same
loop time (not a fill time of the broker's), so every baseline trade the plugin vetoed
in the full run is counted as vetoed by it, with its R, and none as not proposed."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import _env
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

VETOER = textwrap.dedent(
    """
    from pathlib import Path
    from hookspecs import hookimpl

    class Vetoer:
        @hookimpl
        def allow_order(self, host, order):
            now = host.clock.now()
            if now.hour % 2 == 0:
                return None
            run = host.data_dir("vetoer").parent.name  # state-full, state-same_entries
            with Path(f"vetoes-{run}.txt").open("a") as f:
                f.write(f"{now.isoformat()},{order.symbol},{order.direction}\\n")
            return "odd hour"
    """
)


def test_the_full_runs_vetoes_are_counted_against_the_baseline_trades(tmp_path: Path) -> None:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", start, 3000, seed=3))
    (tmp_path / "plugins.toml").write_text('[plugins]\ndisabled = ["dtms"]\n')
    (tmp_path / "vetoer_plugin.py").write_text(VETOER)
    dist = tmp_path / "vetoer_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vetoer-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\nvetoer = vetoer_plugin:Vetoer\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "vetoer",
         "--report", "r"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]

    vetoes = (tmp_path / "vetoes-state-full.txt").read_text().splitlines()
    vetoed = {tuple(line.split(",")) for line in vetoes}
    with (tmp_path / "r" / "trades.csv").open(newline="") as f:
        baseline = [
            row for row in csv.DictReader(f)
            if row["comparison"] == "same_entries" and row["run"] == "without"
        ]  # fmt: skip
    hit = [r for r in baseline if (r["opened_at"], r["symbol"], r["direction"]) in vetoed]
    assert len(hit) >= 10, (len(hit), len(vetoes))  # enough to tell a match from luck

    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    entries = summary["full"]["entries"]
    assert entries["vetoed"] == len(vetoes)
    (why,) = [c for c in entries["not_taken_why"] if c["why"] == "vetoed"]
    assert (why["by"], why["trades"]) == ("vetoer", len(hit))
    assert why["r"] == round(sum(float(r["r"]) for r in hit if r["r"]), 4)
    # a baseline trade at an even hour was taken in the full run too: nothing else missed
    assert entries["not_taken"] == len(hit)
    assert [c["why"] for c in entries["not_taken_why"]] == ["vetoed"]
