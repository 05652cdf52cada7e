"""What a sweep's values and figures look like to a trader (real ``hostapp replay``
subprocesses on a small synthetic file): a value refused in every combination stops the
sweep before any run, named as it was typed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]


def replay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("values")
    shutil.copy(ROOT / "plugins.toml", here / "plugins.toml")
    start = datetime(2024, 3, 4, tzinfo=UTC)
    write_bars_csv(here / "XAUUSD.csv", generate_bars("XAUUSD", start, 1500, seed=3))
    return here


def test_true_refused_beside_1_stops_before_any_run(folder: Path) -> None:
    """``magic=1,true``: ``true`` is no magic number, in every combination; it is not
    ``1`` (which Python's ``==`` says it is), so the sweep stops with exit 2."""
    proc = replay(folder, "XAUUSD.csv", "--compare", "--sweep", "dtms.magic=1,true")
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("hostapp: --sweep dtms.magic=true: ")
    assert line.endswith("expected int | None, got true"), line
    assert "sweep:" not in proc.stderr  # no run started
