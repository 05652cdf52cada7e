"""``hostapp run --live`` refused by a plugin's start (DTMS's state_dir a file): the
start leaves no account file it made (the next start would take that account's balance),
and an account file that was there before is kept as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.account_folder import ACCOUNT, account_file, shipped_config
from support.account_folder import run_live as _run

from hostapp.brokers.paper_account import AccountMeta


def test_a_start_refused_by_a_plugin_leaves_no_account_file(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where DTMS's folder goes\n")
    shipped_config(tmp_path, state_dir="state")
    done = _run(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "[plugin.dtms] key 'state_dir'" in done.stderr
    left = [p.name for p in (tmp_path / ".hostapp").iterdir()]
    assert not [name for name in left if name.startswith("paper-account.sqlite") and
                not name.endswith(".lock")], left  # fmt: skip


def test_a_start_refused_by_a_plugin_keeps_the_account_file_it_found(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where DTMS's folder goes\n")
    shipped_config(tmp_path, state_dir="state")
    account_file(tmp_path, AccountMeta(7654321, 25_000.0, "hedging", "USD"))
    done = _run(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    db = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert (meta["login"], float(meta["deposit"])) == ("7654321", 25_000.0)
