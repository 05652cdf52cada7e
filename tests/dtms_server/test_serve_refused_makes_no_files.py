"""``dtms serve`` refused for its bind address (not loopback, no token): refused before
the paper account file and DTMS's store are made, so a refused start creates no account
(whose balance the next start would take) and no state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def _dtms() -> list[str]:
    script = Path(sys.executable).with_name("dtms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dtms_plugin.cli"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DTMS_TOKEN"}


def test_a_refused_bind_makes_no_account_file_and_no_store(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text((ROOT / "plugins.toml").read_text())
    done = subprocess.run(
        [*_dtms(), "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
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
    (tmp_path / "plugins.toml").write_text((ROOT / "plugins.toml").read_text())
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0 is not a loopback address" in lines[0], lines
    left = sorted(p.name for p in (tmp_path / ".hostapp").rglob("*"))
    assert not [n for n in left if n.startswith("paper-account.sqlite")], left
    assert not (tmp_path / ".hostapp" / "dtms" / "cache.db").exists()


def test_hostapp_serve_refused_keeps_the_account_file_it_found(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text((ROOT / "plugins.toml").read_text())
    account = tmp_path / ACCOUNT
    account.parent.mkdir()
    account.write_bytes(b"")  # an empty file is a new account to SQLite: kept all the same
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert account.exists()
