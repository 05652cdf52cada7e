"""``hostapp`` in a real subprocess, as a trader runs it, and the folder it runs in: the
tests of the A/B, of sweeps and of the README's commands share them (the environment's
``HOSTAPP_*`` switches left out)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]


def python(
    cwd: Path, *argv: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` in ``cwd``: a real process, its output as text; ``env``: more
    variables."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}, **(env or {})}
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def replay(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return python(cwd, "-m", "hostapp.cli", "replay", *args, env=env)


def bars_folder(here: Path, *, bars: int = 1500, seed: int = 3, config: bool = True) -> Path:
    """``here`` with ``XAUUSD.csv`` (seeded synthetic M5 bars from 2024-03-04) and, with
    ``config``, the shipped plugins.toml."""
    if config:
        shutil.copy(ROOT / "plugins.toml", here / "plugins.toml")
    start = datetime(2024, 3, 4, tzinfo=UTC)
    write_bars_csv(here / "XAUUSD.csv", generate_bars("XAUUSD", start, bars, seed=seed))
    return here


def without_timings(value: Any) -> Any:
    """A summary with its ``seconds`` left out, all the way down: two runs of the same
    bars compare equal but for how long they took."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
