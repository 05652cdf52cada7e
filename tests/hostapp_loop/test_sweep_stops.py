"""A sweep stopped with Ctrl-C, as a trader does it (real subprocesses): a second Ctrl-C,
which does not wait for the runs' cycle, still reports the rows done, writes ``sweep.csv``
and ``sweep.json`` and leaves no scratch folder; a ``--split`` sweep stopped before its
held-out runs says they were not run rather than print an empty out-of-sample table.

The second Ctrl-C is made to come at a known point (a KeyboardInterrupt raised where the
parent waits for a run, which is where a real one lands) so that the test does not race
the runs."""

from __future__ import annotations

import json
import subprocess
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, python

TO_L1 = "dtms.thresholds.to_l1"

#: ``hostapp replay ARGS`` with a Ctrl-C while the ``AT``-th wait for a row of the part
#: ``PART`` ("all", "tune" or "test") is under way: a second one (``KIND`` "abort": it
#: raises) or the first (``KIND`` "stop": the runs are stopped, that row's run with them).
SECOND_CTRL_C = textwrap.dedent(
    """
    import sys
    from hostapp import cli, sweep

    kind, part, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = sweep._Sweep.row
    seen = []

    def row(self, started):
        if self.data == part:
            seen.append(1)
            if len(seen) == at and kind == "abort":
                raise KeyboardInterrupt
            if len(seen) >= at and kind == "stop":
                self.runs.interrupted = True
                return None
        return real(self, started)

    sweep._Sweep.row = row
    sys.exit(cli.main(["replay", *sys.argv[4:]]))
    """
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = bars_folder(tmp_path_factory.mktemp("stops"))
    (here / "ctrl_c.py").write_text(SECOND_CTRL_C)
    return here


def stopped(
    folder: Path, kind: str, part: str, at: int, *args: str
) -> subprocess.CompletedProcess[str]:
    return python(folder, "ctrl_c.py", kind, part, str(at), "XAUUSD.csv", "--compare", *args)


def test_a_second_ctrl_c_still_reports_the_rows_done(folder: Path) -> None:
    proc = stopped(folder, "abort", "all", 2, "--sweep", f"{TO_L1}=-3,-2,-1", "--report", "two")
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "start-up" not in proc.stderr and "Traceback" not in proc.stderr
    assert "interrupted; the table has the 1 of 3 settings" in proc.stderr
    summary = json.loads((folder / "two" / "sweep.json").read_text())
    assert summary["interrupted"] is True and len(summary["rows"]) == 1
    assert (folder / "two" / "sweep.csv").read_text().count("\n") == 2  # header, one row
    assert not (folder / "two" / "sweep").exists()  # the runs' scratch folder


def test_a_split_stopped_before_its_test_says_it_was_not_run(folder: Path) -> None:
    args = ("--sweep", f"{TO_L1}=-3,-1", "--split", "0.6", "--report", "split")
    proc = stopped(folder, "stop", "tune", 2, *args)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "Out of sample" not in proc.stdout and "the table below checks it" not in proc.stdout
    split = json.loads((folder / "split" / "sweep.json").read_text())["split"]
    begins = datetime.fromisoformat(split["from"])  # ISO 8601 in the JSON, short in the table
    rest = f"the last 40% of the bars (600, from {begins:%Y-%m-%d %H:%M} UTC)"
    assert f"out of sample ({rest}): not tested: the sweep was " in proc.stdout
    assert split["test"] == {} and "interrupted" in split["not_tested"]
