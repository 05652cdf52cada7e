"""``hostapp run --live`` refused by a plugin's start (DTMS's state_dir a file): the
start leaves no account file it made (the next start would take that account's balance),
and an account file that was there before is kept as it was."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_file import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def _config(folder: Path, *, balance: float | None = None, state_dir: str | None = None) -> None:
    text = (ROOT / "plugins.toml").read_text()
    if balance is not None:
        text = text.replace("# balance = 10000 ", f"balance = {balance}", 1)
        assert f"balance = {balance}" in text
    if state_dir is not None:
        text = text.replace('state_dir = ".hostapp/dtms"', f'state_dir = "{state_dir}"', 1)
        assert f'state_dir = "{state_dir}"' in text
    (folder / "plugins.toml").write_text(text)


def _run(cwd: Path, days: int = 1) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days)]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_start_refused_by_a_plugin_leaves_no_account_file(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where DTMS's folder goes\n")
    _config(tmp_path, state_dir="state")
    done = _run(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "[plugin.dtms] key 'state_dir'" in done.stderr
    left = [p.name for p in (tmp_path / ".hostapp").iterdir()]
    assert not [name for name in left if name.startswith("paper-account.sqlite") and
                not name.endswith(".lock")], left  # fmt: skip


def test_a_start_refused_by_a_plugin_keeps_the_account_file_it_found(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where DTMS's folder goes\n")
    _config(tmp_path, state_dir="state")
    (tmp_path / ".hostapp").mkdir()
    SqliteStore(tmp_path / ACCOUNT, AccountMeta(7654321, 25_000.0, "hedging", "USD")).close()
    done = _run(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    db = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert (meta["login"], float(meta["deposit"])) == ("7654321", 25_000.0)
