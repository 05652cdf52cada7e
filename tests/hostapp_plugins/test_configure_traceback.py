"""A bug in a plugin's ``configure`` (a KeyError, not a ConfigError) stops the command in
one line, as before, and its traceback is no longer lost: a replay writes it to the
report's hostapp.log, and the line says so; a command that keeps no log file
(``hostapp plugins``) says nothing of a file. ``hostapp`` is a real process; the plugin
is a third party's entry point."""

from __future__ import annotations

from pathlib import Path

from hostapp_loop.replay_cli import bars_folder
from support.plugin_dist import hostapp, install

PLUGIN = """
from hookspecs import hookimpl

class Limits:
    @hookimpl
    def configure(self, host):
        settings = dict(host.config_for("limits"))
        self.limit = settings["limit"]
"""
LINE = "hostapp: plugin 'limits': configure failed: KeyError: 'limit'"


def test_a_configure_bug_has_its_traceback_in_the_replays_log(tmp_path: Path) -> None:
    env = install(tmp_path, PLUGIN, {"limits": "Limits"})
    folder = bars_folder(tmp_path, bars=300)
    done = hostapp(folder, env, "replay", "XAUUSD.csv", "--report", "rep")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [f"{LINE} (traceback in hostapp.log)"]
    log = (folder / "rep" / "hostapp.log").read_text()
    assert "plugin limits: configure failed: KeyError: 'limit'" in log
    assert "Traceback (most recent call last)" in log
    assert 'probe_plugins.py", line 8, in configure' in log


def test_a_command_without_a_log_file_names_none(tmp_path: Path) -> None:
    env = install(tmp_path, PLUGIN, {"limits": "Limits"})
    folder = bars_folder(tmp_path, bars=10)
    listed = hostapp(folder, env, "plugins")
    assert listed.returncode == 2
    assert listed.stderr.strip().splitlines() == [LINE]
    assert "Traceback" not in listed.stderr
