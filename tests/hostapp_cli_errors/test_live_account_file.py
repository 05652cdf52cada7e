"""The paper account file of ``hostapp run --live``: a live account must outlive the
process, so an empty ``[host.paper] account_file`` is refused in one line (as ``hostapp
serve`` refuses it), and a plugins.toml that leaves the key out gets the README's default
file, which a restart resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_cli_errors.test_second_host import _run

FAST = ("--speed", "100000", "--days", "1")  # every bar is history: the run ends at once


@pytest.mark.parametrize("value", ['""', '"  "'])
def test_an_empty_account_file_is_refused_for_a_live_run(tmp_path: Path, value: str) -> None:
    (tmp_path / "plugins.toml").write_text(
        f'[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = {value}\n'
    )
    proc = _run(tmp_path, *FAST, "--report", "rep")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith(
        "hostapp: plugins.toml [host.paper]: key 'account_file' is required for a live run "
        "with the paper broker"
    ), line
    assert ".hostapp/paper-account.sqlite" in line  # what leaving the key out gives
    assert not (tmp_path / "rep").exists() and not (tmp_path / ".hostapp").exists()


def test_a_live_run_without_the_key_keeps_its_account_in_the_default_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    first = _run(tmp_path, *FAST, "--report", "r1")
    assert first.returncode == 0, first.stderr[-2000:]
    assert (tmp_path / ".hostapp" / "paper-account.sqlite").is_file()
    again = _run(tmp_path, "--speed", "100000", "--days", "2", "--report", "r2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (
        "hostapp: plugins.toml [host.paper] account_file .hostapp/paper-account.sqlite was "
        "last traded at 2024-01-02 00:00 UTC: the run resumes the data from there"
    ) in again.stderr


@pytest.mark.parametrize("command", [("run", "--live", *FAST), ("serve", "--port", "0")])
def test_a_folder_as_the_account_file_is_said_to_be_one(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """SQLite said only 'unable to open database file', and the live run's lock landed
    beside the folder (``/tmp`` → ``/tmp.lock``)."""
    (tmp_path / "accounts").mkdir()
    (tmp_path / "plugins.toml").write_text('[host.paper]\naccount_file = "accounts"\n')
    proc = hostapp(tmp_path, *command)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].endswith(
        "plugins.toml [host.paper] key 'account_file' (accounts): a folder, not a file: name "
        "the account file in it, e.g. accounts/paper-account.sqlite"
    )
    assert not (tmp_path / "accounts.lock").exists()
