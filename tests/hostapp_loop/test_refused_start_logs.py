"""A live start refused before its run begins moves no report file aside: its lines and the
refusal are appended to the log there. A host restarted in a loop of refused starts (the
account's data ended, a store that cannot be opened) rotated the log at each, and after
five of them ``hostapp.log`` … ``hostapp.log.5`` were all empty: the log that said why
the host first stopped was gone, and no log said why it was refused (README)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENDED = "after the last bar of this run's data: nothing left to run on it"


def _run(cwd: Path, days: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", "rep"]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _report(cwd: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (cwd / "rep").iterdir() if p.name[0] != "."}


def test_refused_starts_keep_the_earlier_logs_and_say_why_in_the_log(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    for days in (1, 2):  # two runs: a log and a log kept beside it
        done = _run(tmp_path, days)
        assert done.returncode == 0, done.stderr[-2000:]
    before = _report(tmp_path)
    assert {"hostapp.log", "hostapp.log.1", "summary.json", "summary.json.1"} <= set(before)
    assert b"ERROR" not in before["hostapp.log"]

    for _ in range(6):  # more than the five logs kept
        refused = _run(tmp_path, 2)
        assert refused.returncode == 2
        assert refused.stderr.count(ENDED) == 1  # said once on the terminal, not twice
    after = _report(tmp_path)
    assert set(after) == set(before)  # nothing moved aside, nothing removed
    assert {k: v for k, v in after.items() if k != "hostapp.log"} == {
        k: v for k, v in before.items() if k != "hostapp.log"
    }
    log = after["hostapp.log"]
    assert log.startswith(before["hostapp.log"])  # the last run's log, kept whole
    added = log[len(before["hostapp.log"]) :].decode().splitlines()
    refusals = [line for line in added if " ERROR hostapp: refused: " in line]
    assert len(refusals) == 6 and all(ENDED in line for line in refusals)

    # a start that runs moves it aside, refusals and all, and writes its own
    grown = _run(tmp_path, 3)
    assert grown.returncode == 0, grown.stderr[-2000:]
    now = _report(tmp_path)
    assert now["hostapp.log.1"] == log
    assert now["hostapp.log.2"] == before["hostapp.log.1"]
    assert now["summary.json.1"] == before["summary.json"]
    assert b"refused" not in now["hostapp.log"]


def test_a_store_that_cannot_be_opened_leaves_the_logs_where_they_are(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    done = _run(tmp_path, 1)
    assert done.returncode == 0, done.stderr[-2000:]
    before = _report(tmp_path)
    shutil.rmtree(tmp_path / ".hostapp" / "dtms")
    (tmp_path / ".hostapp" / "dtms").write_text("not a folder\n")  # DTMS's state_dir

    refused = _run(tmp_path, 2)
    assert refused.returncode == 2
    assert "cannot open store in .hostapp/dtms" in refused.stderr
    after = _report(tmp_path)
    assert set(after) == set(before) == {"hostapp.log", "summary.json", "trades.csv"}
    assert after["summary.json"] == before["summary.json"]
    log = after["hostapp.log"]
    assert log.startswith(before["hostapp.log"])
    last = log.decode().splitlines()[-1]
    assert " ERROR hostapp: refused: " in last and "cannot open store in .hostapp/dtms" in last
