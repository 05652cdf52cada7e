"""``hostapp run --live`` with the remote strategy and no DTMS server, as a real process
(a simulated run never speaks to a server: its trades are no account's): the run says so
once at start-up, goes at its usual pace instead of waiting on the outbox every cycle, and
its summary says in words what was not handed to the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from support.ports import free_port

from hostapp.report import summary_table

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_without_its_server_says_so_once_and_in_its_summary(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    shipped = (ROOT / "plugins.toml").read_text()
    config, n = re.subn(r'(?m)^strategy = "auto".*$', 'strategy = "remote"', shipped)
    config, m = re.subn(r"(?m)^api_url = .*$", f'api_url = "{url}"', config)
    assert (n, m) == (1, 1)
    (tmp_path / "plugins.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "100000", "--days", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = [line for line in proc.stderr.splitlines() if " ERROR " in line or " WARNING " in line]
    assert len(said) == 1, said
    assert f"DTMS server {url} is not answering (at start-up" in said[0]
    # what the exit manager will see meanwhile: a defended trade stops reading defensive
    assert "reads as defensive only for last_known_seconds (30 s)" in said[0]
    note = [line for line in proc.stdout.splitlines() if line.startswith("note (dtms): ")]
    assert len(note) == 1, proc.stdout
    assert f"DTMS server {url} not answering since" in note[0]
    assert "outbox entries not delivered" in note[0]


def test_the_summary_shows_each_plugins_note() -> None:
    summary = {
        "trades": 3,
        "plugin_reports": {"dtms": {"note": "evaluated 0 of 3 trades"}, "other": {}},
    }
    lines = summary_table(summary).splitlines()
    assert lines[-1] == "note (dtms): evaluated 0 of 3 trades"
    assert not any(line.startswith("note (other)") for line in lines)
