"""The account file carries its format (SQLite's ``user_version``), so that a later
version can tell a file it wrote from an older one's, and this one refuses, in one line
and before touching it, a file of a format newer than it knows: an older version run on
a newer file rewound the account (README: going back to an older version)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_checks import FORMAT
from hostapp.brokers.paper_account_file import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's
META = AccountMeta(1234567, 10_000.0, "hedging", "USD")


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def _newer(path: Path) -> None:
    """An account file a later version wrote: an account, in a format after ours."""
    SqliteStore(path, META).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {FORMAT + 1}")
    db.close()


def test_a_new_file_and_an_unnumbered_one_get_the_format(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    SqliteStore(path, META).close()
    assert _version(path) == FORMAT >= 1
    db = sqlite3.connect(path)  # as a version from before formats were numbered left it
    db.execute("PRAGMA user_version = 0")
    db.close()
    SqliteStore(path, META).close()
    assert _version(path) == FORMAT


def test_a_newer_format_is_refused_naming_the_file_and_both_formats(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite"
    _newer(path)
    before = path.read_bytes()
    with pytest.raises(sqlite3.DatabaseError) as refused:
        SqliteStore(path, META)
    assert str(refused.value) == (
        f"{path}: written by a newer hostapp (format {FORMAT + 1}); this one reads up to "
        f"{FORMAT}: upgrade, or use another account_file"
    )
    assert path.read_bytes() == before


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}


def test_hostapp_run_live_refuses_a_newer_file_in_one_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    (tmp_path / ".hostapp").mkdir()
    _newer(tmp_path / ACCOUNT)
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "100000", "--days", "1"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == (
        f"hostapp: plugins.toml [host.paper] key 'account_file' ({ACCOUNT}): {ACCOUNT}: "
        f"written by a newer hostapp (format {FORMAT + 1}); this one reads up to {FORMAT}: "
        "upgrade, or use another account_file"
    )
    assert _version(tmp_path / ACCOUNT) == FORMAT + 1


def test_dtms_serve_refuses_a_newer_file_in_one_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    (tmp_path / ".hostapp").mkdir()
    _newer(tmp_path / ACCOUNT)
    done = subprocess.run(
        [sys.executable, "-m", "dtms_plugin.cli", "serve", "--port", "0"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"written by a newer hostapp (format {FORMAT + 1}); this one reads" in lines[0]
    assert f"[host.paper] key 'account_file' ({ACCOUNT})" in lines[0]
