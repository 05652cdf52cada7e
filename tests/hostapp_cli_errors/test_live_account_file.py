"""The paper account file of ``hostapp run --live``: a live account must outlive the
process, so an empty ``[host.paper] account_file`` is refused in one line (as ``hostapp
serve`` refuses it), and a plugins.toml that leaves the key out gets the README's default
file, which a restart resumes."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_cli_errors.test_second_host import _run
from support.e2e_procs import command, free_port

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


def test_serve_without_the_key_opens_the_file_a_live_host_trades_by_default(
    tmp_path: Path,
) -> None:
    """A plugins.toml without ``[host.paper]`` (as the shipped one was before it had the
    table): ``hostapp run --live`` traded ``.hostapp/paper-account.sqlite`` while ``dtms
    serve`` refused to start, saying the key was required. It now serves that file."""
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    first = _run(tmp_path, *FAST, "--report", "r1")
    assert first.returncode == 0, first.stderr[-2000:]
    proc = subprocess.Popen(
        [*command("dtms"), "serve", "--port", str(free_port())],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = [proc.stdout.readline() for _ in range(3)]
        assert proc.poll() is None, "".join(seen)  # serving, not refused
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
    assert "required" not in "".join(seen) + out and proc.returncode == 0, "".join(seen) + out
