"""A program checked with ``mypy --strict`` imports the public client cleanly: strict
mode has no implicit re-exports, and ``dtms_plugin.client`` imported its names from a
module that did not export them (``Module "dtms_plugin.client.aio" does not explicitly
export "RegisterResult"``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

PROGRAM = """
from typing import Any

from dtms_plugin.client import (
    AsyncDtmsClient,
    DtmsClient,
    DtmsClientUnusable,
    DtmsError,
    DtmsUnreachable,
    RegisterResult,
    registration,
)


def sync_bot(dtms: DtmsClient) -> str:
    result: RegisterResult = dtms.register(registration({"ticket": 1}))
    trades: dict[int, dict[str, Any]] = dtms.trades()
    try:
        defended: bool = dtms.is_defensive(1)
    except (DtmsUnreachable, DtmsClientUnusable, DtmsError):
        defended = True
    return f"{result.outcome} {len(trades)} {defended}"


async def async_bot(dtms: AsyncDtmsClient) -> dict[str, Any] | None:
    return await dtms.state(1)
"""


def _strict(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` of ``text`` as ``name``, with this repository on its path."""
    (tmp_path / name).write_text(text)
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         name],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_program_checked_with_mypy_strict_imports_the_client(tmp_path: Path) -> None:
    proc = _strict(tmp_path, "bot.py", PROGRAM)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


PLUGIN = """
from hookspecs import HostView, hookimpl


class Guard:
    @hookimpl
    def is_defensive(self, host: HostView, ticket: int) -> bool | None:
        return None if ticket % 2 else True
"""


def test_a_plugin_checked_with_mypy_strict_imports_the_contract(tmp_path: Path) -> None:
    """A plugin author's ``mypy --strict`` reads ``hookspecs`` too: an untyped return in
    it and a spec declared ``-> bool`` with no body (``None`` is no opinion, its docstring
    says) failed their check before any line of theirs."""
    proc = _strict(tmp_path, "guard.py", PLUGIN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
