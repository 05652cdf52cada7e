"""``dtms serve`` as a real process: a non-loopback --host without a token is refused in
one line unless --insecure-no-token says so (then a WARNING); start-up failures of the
files it opens name the file and key, exit 2, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.dtms_fuzz import free_port, write_config


def _dtms() -> list[str]:
    script = Path(sys.executable).with_name("dtms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dtms_plugin.cli"]


def _env(token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DTMS_TOKEN"}
    return {**env, "DTMS_TOKEN": token} if token else env


def _run(config: Path, *flags: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_dtms(), "serve", "--config", str(config), "--port", str(free_port()), *flags],
        capture_output=True, text=True, timeout=60, env=_env(token),
    )  # fmt: skip


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_a_non_loopback_host_without_a_token_is_refused_in_one_line(
    tmp_path: Path, host: str
) -> None:
    done = _run(write_config(tmp_path), "--host", host)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"--host {host} is not a loopback address and no token is set" in lines[0]
    assert "DTMS_TOKEN" in lines[0] and "--insecure-no-token" in lines[0]


def test_insecure_no_token_serves_and_warns(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    proc = subprocess.Popen(
        [*_dtms(), "serve", "--config", str(config), "--port", str(free_port()),
         "--host", "0.0.0.0", "--insecure-no-token"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not any("dtms: serving on" in line for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
            seen.append(proc.stderr.readline())
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = "".join(seen) + rest
    assert "WARNING" in text and "without a token (--insecure-no-token)" in text
    assert proc.returncode == 0


def test_a_token_or_loopback_needs_no_flag(tmp_path: Path) -> None:
    from dtms_plugin.cli import _is_loopback

    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert _is_loopback("127.8.9.10") and not _is_loopback("0.0.0.0")


def test_state_dir_that_is_a_file_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "state").write_text("not a folder")
    done = _run(config)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{config} [plugin.dtms] key 'state_dir'" in lines[0]


def test_an_account_file_that_is_a_folder_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "account.db").mkdir()
    done = _run(config)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{config} [host.paper] key 'account_file'" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("blank", ["   ", " \t "])
def test_a_token_of_whitespace_only_is_refused_in_one_line(tmp_path: Path, blank: str) -> None:
    """It is set, so it passed the exposure check, but no client can send it: every
    request would have been a 401."""
    config = write_config(tmp_path)
    served = _run(config, "--host", "0.0.0.0", token=blank)
    env = {**_env(blank), "HOSTAPP_LOAD_PLUGINS": "dtms"}
    live = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--serve", "--port", "0",
         "--config", str(config), "--report", str(tmp_path / "rep")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    for done in (served, live):
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "DTMS_TOKEN holds only whitespace" in lines[0], lines[0]
