"""The output itself cannot be written (``> /dev/full``, a full disk under a redirect):
``hostapp plugins``, a replay and an A/B ended in a traceback, from the table or from
rich, exit 1 (the environment probe). One line now, exit 1; the report's own files are
written as they are without the redirect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="needs Linux's /dev/full")
ROOT = Path(__file__).parents[2]


def _to_full(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    with FULL.open("w") as full:
        return subprocess.run(
            [sys.executable, "-m", "hostapp.cli", *args], cwd=cwd, env=env, stdout=full,
            stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [("plugins",), ("plugins", "--json"), ("replay", "XAUUSD.csv", "--report", "rep"),
     ("replay", "XAUUSD.csv", "--json", "--report", "rep"),
     ("replay", "XAUUSD.csv", "--compare", "--report", "rep")],
    ids=["plugins", "plugins-json", "replay", "replay-json", "compare"],
)  # fmt: skip
def test_an_output_that_cannot_be_written_is_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "plugins.toml").write_text((ROOT / "plugins.toml").read_text())
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 1500, seed=3)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    done = _to_full(tmp_path, *args)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    said = [ln for ln in done.stderr.splitlines() if not ln.startswith(("run:", "A/B:", "replay"))]
    assert said == ["hostapp: cannot write the output: No space left on device"], said
    if args[0] == "replay":  # the report was written before the table
        summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
        assert summary["bars" if "--compare" not in args else "same_entries"]


def test_a_report_file_on_a_full_disk_is_named_not_taken_for_the_output(tmp_path: Path) -> None:
    """Python's error of a full disk names no file: a sweep's ``sweep.csv`` that could not
    be written was said as "cannot write the output" (the review). The file is named."""
    (tmp_path / "plugins.toml").write_text((ROOT / "plugins.toml").read_text())
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 600, seed=3)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "sweep.csv.tmp").symlink_to(FULL)  # the disk is full for it
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "--sweep",
         "dtms.weights.momentum=1,2", "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "cannot write the output" not in done.stderr
    assert "hostapp: the report in rep is incomplete: rep/sweep.csv: No space left on device" in (
        done.stderr
    )
