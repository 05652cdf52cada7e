"""``dtms serve`` refused for its bind address (not loopback, no token): refused before
the paper account file and DTMS's store are made, so a refused start creates no account
(whose balance the next start would take) and no state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.account_folder import ACCOUNT, account_file, refused_serve, shipped_config

from hostapp.brokers.paper_account import AccountMeta


def test_a_refused_bind_makes_no_account_file_and_no_store(tmp_path: Path) -> None:
    shipped_config(tmp_path)
    done = refused_serve(tmp_path, "dtms")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0 is not a loopback address" in lines[0], lines
    assert not (tmp_path / ACCOUNT).exists()
    assert not (tmp_path / ".hostapp" / "dtms" / "cache.db").exists()


def test_hostapp_serve_refused_for_its_bind_leaves_no_account_file_and_no_store(
    tmp_path: Path,
) -> None:
    """``hostapp serve`` knows no plugin, so it opens the account before DTMS refuses the
    bind: the file that start made is removed again, and DTMS refuses before its store."""
    shipped_config(tmp_path)
    done = refused_serve(tmp_path, "hostapp")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0 is not a loopback address" in lines[0], lines
    left = sorted(p.name for p in (tmp_path / ".hostapp").rglob("*"))
    assert not [n for n in left if n.startswith("paper-account.sqlite")], left
    assert not (tmp_path / ".hostapp" / "dtms" / "cache.db").exists()


def test_hostapp_serve_refused_keeps_the_account_file_it_found(tmp_path: Path) -> None:
    shipped_config(tmp_path)
    account = account_file(tmp_path, AccountMeta(7654321, 25_000.0, "hedging", "USD"))
    done = refused_serve(tmp_path, "hostapp")
    assert done.returncode == 2, done.stderr
    db = sqlite3.connect(account)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert (meta["login"], float(meta["deposit"])) == ("7654321", 25_000.0)
