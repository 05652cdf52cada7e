"""A store that cannot be opened stops ``dtms serve`` and ``hostapp run`` with one line on
stderr naming the store directory and exit code 2, no traceback: real processes, a real
directory in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HOSTAPP_LOAD_PLUGINS", None)
    env.pop("HOSTAPP_DISABLE_PLUGINS", None)
    # the tree under test, whatever the working directory of the command
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], store: Path) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"cannot open store in {store}" in lines[0]
    return lines[0]


def test_dtms_serve_with_a_store_that_cannot_be_opened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the store directory should be")
    config = tmp_path / "plugins.toml"
    config.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f'[host.paper]\naccount_file = "{tmp_path / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{state}"\n'
    )
    serve = ["serve", "--config", str(config), "--port", str(free_port())]
    proc = subprocess.run(
        [sys.executable, "-m", "dtms_plugin.cli", *serve],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = _one_line_exit_2(proc, state)
    assert line.startswith("dtms: cannot start: ")


def test_hostapp_run_with_a_store_that_cannot_be_opened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the store directory should be")
    config = tmp_path / "plugins.toml"
    config.write_text(f'[plugin.dtms]\nstate_dir = "{state}"\n')
    run = ["run", "--live", "--config", str(config), "--days", "1"]  # live: the state_dir is used
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *run, "--report", str(tmp_path / "report")],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_line_exit_2(proc, state)
