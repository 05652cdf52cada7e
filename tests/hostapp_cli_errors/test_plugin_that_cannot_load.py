"""An enabled plugin that cannot load (its import fails or exits, its registration is
refused) stops ``run``, ``replay`` and ``serve`` at start-up in one line naming it, why,
and how to switch it off; exit 2. A risk guard that failed to load was logged once and
every order went through, live too, exit 0. ``hostapp plugins`` lists every plugin, the
broken one with why, and exits 2 after the list (it printed nothing but argparse's usage
of a plugin that parses the command line at import). Real processes; the plugins are a
third party's entry points (docs/architecture.md §4, "Loading")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from support.plugin_dist import hostapp, install

from hostapp.market.synthetic import generate_bars

PLUGINS = """
import argparse
from hookspecs import hookimpl

class AsyncGuard:
    @hookimpl
    async def allow_order(self, order):  # sync only: rejected at registration
        return "no"

class Fine:
    @hookimpl
    def on_cycle(self, now):
        pass
"""
PARSES = """
import argparse
parser = argparse.ArgumentParser(prog="myplugin")
parser.add_argument("--threshold", type=float, default=1.0)
ARGS = parser.parse_args()  # a script turned into a plugin: the host's command line
"""
ENTRY_POINTS = {"async_guard": "AsyncGuard", "fine": "Fine", "missing": "DoesNotExist"}
WHY = (
    "plugin 'async_guard' was rejected: allow_order is sync only but is implemented with "
    "async def; plugin 'missing' failed to load: AttributeError: "
)
SWITCH_OFF = (
    'switch them off ([plugins] disabled = ["async_guard", "missing"] in plugins.toml, '
    "or HOSTAPP_DISABLE_PLUGINS=async_guard,missing for one run)"
)


def setup(tmp_path: Path) -> dict[str, str]:
    env = install(tmp_path, PLUGINS, ENTRY_POINTS)
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 2, timeframe="M5")
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    return env


@pytest.mark.parametrize(
    "command",
    [
        ("run", "--days", "2", "--no-compare"),
        ("run", "--live", "--speed", "1000"),
        ("replay", "XAUUSD.csv", "--compare"),
        ("serve", "--port", "0"),
    ],
    ids=["run", "live", "replay", "serve"],
)
def test_a_plugin_that_cannot_load_stops_the_start(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = setup(tmp_path)
    done = hostapp(tmp_path, env, *command, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr[-2000:]
    assert done.stdout == "" and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"hostapp: {WHY}"), line
    assert line.endswith(SWITCH_OFF), line
    assert not (tmp_path / ".hostapp" / "report" / "summary.json").exists()
    env["HOSTAPP_DISABLE_PLUGINS"] = "async_guard,missing"  # as the line says
    if command[0] == "run" and "--live" not in command:
        again = hostapp(tmp_path, env, *command)
        assert again.returncode == 0, again.stderr[-2000:]


def test_the_listing_lists_every_plugin_and_exits_2_after(tmp_path: Path) -> None:
    env = setup(tmp_path)
    for args in (("plugins",), ("plugins", "--json")):
        done = hostapp(tmp_path, env, *args, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            "hostapp: plugin 'async_guard' was rejected: allow_order is sync only but is "
            "implemented with async def",
            "hostapp: plugin 'missing' failed to load: AttributeError: module 'probe_plugins' "
            "has no attribute 'DoesNotExist'",
        ]
        if args[-1] == "--json":
            rows = {r["name"]: r for r in json.loads(done.stdout)}
        else:
            cells = [
                [c.strip() for c in line.split("  ") if c.strip()]
                for line in done.stdout.splitlines()[1:]
                if "  " in line
            ]
            rows = {c[0]: {"status": c[3]} for c in cells}
        assert rows["async_guard"]["status"] == rows["missing"]["status"] == "failed"
        assert rows["fine"]["status"] == rows["dtms"]["status"] == "enabled"


def test_a_plugin_that_exits_at_import_is_listed_as_failed(tmp_path: Path) -> None:
    env = install(tmp_path, PARSES, {"parses": ""})
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    done = hostapp(tmp_path, env, "plugins", "--json", timeout=60)
    assert done.returncode == 2, done.stderr
    row = {r["name"]: r for r in json.loads(done.stdout)}["parses"]
    assert row["status"] == "failed"
    assert row["error"].startswith("load: SystemExit: 2: importing it exited (it calls sys.exit()")
    # argparse's own lines, then the listing's: the command goes on to list the others
    assert done.stderr.splitlines()[-1].startswith("hostapp: plugin 'parses' failed to load")
    run = hostapp(tmp_path, env, "run", "--days", "1", "--no-compare", timeout=60)
    assert run.returncode == 2 and "plugin 'parses' failed to load: SystemExit: 2" in run.stderr
