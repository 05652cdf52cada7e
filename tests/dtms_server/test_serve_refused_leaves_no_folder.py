"""A refused ``hostapp serve`` (``--host 0.0.0.0`` without a token) in a fresh folder
made ``.hostapp/`` to hold the paper account, removed the account again and left the
empty folder behind. The folders it made are removed too when empty; one that was
there before, or that holds anything, stays (:mod:`hostapp.made_files`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.account_folder import refused_serve, shipped_config

from hostapp.made_files import MadeFiles


@pytest.mark.parametrize("program", ["hostapp", "dtms"])
def test_a_refused_serve_in_a_fresh_folder_leaves_no_hostapp_folder(
    tmp_path: Path, program: str
) -> None:
    shipped_config(tmp_path)
    done = refused_serve(tmp_path, program)
    assert done.returncode == 2, done.stderr
    assert "--host 0.0.0.0 is not a loopback address" in done.stderr
    assert not (tmp_path / ".hostapp").exists(), sorted(tmp_path.rglob("*"))


def test_a_refused_serve_keeps_the_folder_that_was_there(tmp_path: Path) -> None:
    shipped_config(tmp_path)
    (tmp_path / ".hostapp").mkdir()
    done = refused_serve(tmp_path, "hostapp")
    assert done.returncode == 2, done.stderr
    assert (tmp_path / ".hostapp").is_dir()
    assert list((tmp_path / ".hostapp").iterdir()) == []


def test_made_folders_go_deepest_first_and_only_when_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = MadeFiles("a/b/c/account.sqlite")
    Path("a/b/c").mkdir(parents=True)
    Path("a/b/c/account.sqlite").write_text("x")
    Path("a/other.txt").write_text("another's")  # a file the start did not make
    made.remove()
    assert not Path("a/b").exists()
    assert Path("a/other.txt").read_text() == "another's"


def test_an_existing_account_leaves_every_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a").mkdir()
    Path("a/account.sqlite").write_text("x")
    made = MadeFiles("a/account.sqlite")
    Path("a/account.sqlite").unlink()  # whatever happened to it, the folder was there
    made.remove()
    assert Path("a").is_dir()
