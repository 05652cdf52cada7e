"""``dtms serve`` refused to start over an enabled plugin rejected at registration (a hook
with a parameter the hook does not have) though the plugin implements no ``web_routes``,
so serve would never run it. Now serve goes on without it, in one WARNING naming it and
why; a rejected plugin whose hooks include ``web_routes``, or a name that is no hook (a
misspelled ``web_route`` meant to serve), still stops the start in one line, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.e2e_procs import command, dtms_server, free_port, toml_config
from support.plugin_dist import install

IDLE = """
from hookspecs import hookimpl


class Idle:
    @hookimpl
    def manage_positions(self, host, bogus):
        pass


class Serving:
    @hookimpl
    def manage_positions(self, host, bogus):
        pass

    @hookimpl
    def web_routes(self, host):
        return []


class Misspelled:
    @hookimpl
    def web_route(self, host):
        return []


idle = Idle()
serving = Serving()
misspelled = Misspelled()
"""

REJECTED = "plugin 'probe' was rejected: "


def _config(tmp_path: Path) -> Path:
    return toml_config(
        tmp_path / "plugins.toml",
        symbols=["XAUUSD"],
        account_file=tmp_path / "account.db",
        state_dir=tmp_path / "state",
    )


def test_serve_goes_on_without_a_rejected_plugin_it_would_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = install(tmp_path, IDLE, {"probe": "idle"})
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    log = tmp_path / "server.log"
    with dtms_server(_config(tmp_path), free_port(), monitor_seconds=3600, log=log) as s:
        assert s.json("/health")["success"] is True
    said = [line for line in log.read_text().splitlines() if REJECTED in line]
    assert len(said) == 1, log.read_text()
    assert " WARNING hostapp.serve: " in said[0]
    assert "parameter(s) bogus are not arguments of the hook" in said[0]
    assert "serve goes on without it" in said[0]


@pytest.mark.parametrize("attr", ["serving", "misspelled"])
def test_a_rejected_plugin_that_may_serve_still_stops_the_start(tmp_path: Path, attr: str) -> None:
    env = install(tmp_path, IDLE, {"probe": attr})
    done = subprocess.run(
        [*command("dtms"), "serve", "--config", str(_config(tmp_path)), "--port", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dtms: {REJECTED}"), lines
    assert "the host does not run without a plugin it is told to run" in lines[0]
