"""``--jobs`` as it runs on macOS and Windows, where a worker is a new interpreter
(``spawn``), not a fork of the command: the bars reach it pickled, it loads the plugins
again, and its results must be those of one process. Linux forks (hostapp.parallel), so
without these tests the spawn path would run only on the machines no CI here has."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, python, without_timings

#: ``hostapp`` with its workers spawned, as on macOS and Windows; the guard keeps a spawned
#: worker, which imports this script as ``__mp_main__``, from running the command again.
SPAWNING = """\
import sys

import hostapp.parallel
from hostapp.cli import main

if __name__ == "__main__":
    hostapp.parallel.START_METHOD = "spawn"
    sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = bars_folder(tmp_path_factory.mktemp("spawn"))
    (here / "spawning.py").write_text(SPAWNING)
    return here


def spawned(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return python(folder, "spawning.py", "replay", "XAUUSD.csv", *args)


def forked(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return python(folder, "-m", "hostapp.cli", "replay", "XAUUSD.csv", *args)


def test_an_ab_on_spawned_workers_gives_the_results_of_one_process(folder: Path) -> None:
    one = forked(folder, "--compare", "--jobs", "1", "--report", "one")
    two = spawned(folder, "--compare", "--jobs", "2", "--report", "two")
    for proc in (one, two):
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in two.stderr
    assert two.stderr.count("A/B: 100% (3/3 runs)") == 1  # one display for the workers
    summaries = [json.loads((folder / r / "summary.json").read_text()) for r in ("one", "two")]
    assert without_timings(summaries[0]) == without_timings(summaries[1])
    assert summaries[0]["same_entries"]["paired"]["pairs"] > 10
    trades = [(folder / r / "trades.csv").read_text() for r in ("one", "two")]
    assert trades[0] == trades[1]
    log = (folder / "two" / "hostapp.log").read_text()
    assert "plugin dtms disabled" in log  # the spawned workers' log lines reach the log


def test_a_split_sweep_on_spawned_workers_gives_the_rows_of_one_process(folder: Path) -> None:
    """Both parts of the bars (tuning and held out) go to the workers pickled."""
    sweep = ("--compare", "--sweep", "dtms.thresholds.to_l1=-3,-1", "--split", "0.6")
    one = forked(folder, *sweep, "--jobs", "1", "--report", "sw1")
    two = spawned(folder, *sweep, "--jobs", "2", "--report", "sw2")
    for proc in (one, two):
        assert proc.returncode == 0, proc.stderr[-2000:]
    rows = []
    for report in ("sw1", "sw2"):
        with (folder / report / "sweep.csv").open(newline="") as f:
            rows.append(list(csv.DictReader(f)))
    assert rows[0] == rows[1]
    assert {r["data"] for r in rows[1]} == {"tune", "test"}


def test_the_spawning_script_really_spawns(folder: Path) -> None:
    """The tests above would pass on forked workers too: the script's workers must be new
    interpreters, which ``multiprocessing`` names as the spawn method's."""
    probe = folder / "which.py"
    probe.write_text(
        SPAWNING.replace(
            "    sys.exit(main(sys.argv[1:]))",
            "    from hostapp.parallel import Runs\n"
            "    with Runs(print, {}, jobs=2) as runs:\n"
            "        print(runs._executor._mp_context.get_start_method())",
        )
    )
    proc = subprocess.run(
        [sys.executable, str(probe)], cwd=folder, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "spawn"
