"""``make run``, the README's first command, as written: the main job through the Makefile.

The test runs the real Makefile in a folder of its own that holds what ``make run`` reads
(the Makefile, the shipped plugins.toml, the project files the install stamp depends on)
and this suite's virtual environment as ``.venv``: the report lands in that folder, never
in the developer's ``.hostapp``. The install step must be up to date (``make test`` has just
made it), or ``make`` would reinstall the packages from the copies; the test checks that
first with ``make -q`` and says so instead of damaging the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAMP_INPUTS = (
    "pyproject.toml",
    "examples/sma_strategy/pyproject.toml",
    "examples/atr_trailing/pyproject.toml",
    "examples/notify_webhook/pyproject.toml",
)


OLD = ("-o", ".venv/bin/python")


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_", "MAKE"))}
    return subprocess.run(
        ["make", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    venv = Path(sys.prefix)
    stamp = venv / ".installed"
    if shutil.which("make") is None or not stamp.exists():
        message = "needs `make` and the suite run from a .venv that `make test` installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; a CI run must run `make run`", pytrace=False)
        pytest.skip(message)
    older = stamp.stat().st_mtime - 60
    for name in ("Makefile", "plugins.toml", *STAMP_INPUTS):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
        if name in STAMP_INPUTS:
            os.utime(tmp_path / name, (older, older))
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    return tmp_path


def test_make_run_is_the_main_job_on_the_embedded_default(project: Path) -> None:
    # -o: the interpreter (.venv/bin/python, the system's through its link) counts as
    # made, so a Python upgraded after `make test` is no reason to reinstall
    assert make(project, *OLD, "-q", ".venv/.installed").returncode == 0, "the install is stale"
    proc = make(project, *OLD, "run")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pip" not in proc.stdout  # nothing was reinstalled
    assert "A/B of dtms" in proc.stdout and "winners' R kept" in proc.stdout
    summary = json.loads((project / ".hostapp/report/summary.json").read_text())
    assert summary["mode"] == "run" and summary["symbols"] == ["XAUUSD", "EURUSD"]  # bundled
    dtms = summary["plugin_reports"]["dtms"]
    assert dtms["strategy"] == "local" and dtms["evaluated"] > 0  # the engine, no server
