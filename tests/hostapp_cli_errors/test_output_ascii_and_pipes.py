"""``hostapp replay --compare`` as a real process whose output cannot take everything it
prints: on an ASCII locale a ``×`` is shown as ``?`` (it failed the command after the whole
run, its summary lost), and a reader that goes away (``| head``) ends it with the shell's
code for SIGPIPE every time, as the JSON output does (rich's own handler exited 1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder
from support.e2e_procs import into_closed_pipe

ASCII = {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 M5 bars on which the A/B's full run has orders vetoed (its note has a "×")."""
    return bars_folder(tmp_path_factory.mktemp("ascii"), config=False)


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "PYTHONIO"))}
    return {**env, **more}


def test_an_ascii_locale_gets_question_marks_not_a_crash(folder: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "--report",
         "rep"], cwd=folder, env=_env(**ASCII), capture_output=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert b"Traceback" not in proc.stderr
    # the veto note's "×" (its count is the run's business, not this test's)
    assert re.search(rb" orders proposed were vetoed: \d+ \? dtms", proc.stdout)
    assert proc.stdout.isascii()


@pytest.mark.parametrize("buffered", [False, True])
def test_a_closed_pipe_is_exit_141_every_time(folder: Path, buffered: bool) -> None:
    argv = [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare"]
    for _ in range(2):
        proc = into_closed_pipe(argv, folder, _env(), buffered=buffered)
        assert proc.returncode == 141, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
