"""The ``hostapp`` command, run for real in a subprocess: the listing, ``--config``, and
configuration errors as one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.e2e_procs import into_closed_pipe
from support.plugin_dist import install

HOSTAPP = Path(sys.executable).parent / "hostapp"

# Runs the listing in-process and reports which sma_strategy modules got imported.
PROBE = """
import contextlib, io, json, sys
from hostapp.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["plugins", "--json"])
print(json.dumps({
    "code": code,
    "listing": json.loads(out.getvalue()),
    "imported": sorted(m for m in sys.modules if m.split(".")[0] == "sma_strategy"),
}))
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env.update(extra)
    return env


def hostapp(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOSTAPP), *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe(cwd: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def by_name(listing: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in listing}


def test_plugins_json_lists_builtins_and_the_installed_example(tmp_path: Path) -> None:
    proc = hostapp("plugins", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = by_name(json.loads(proc.stdout))
    assert {"dtms", "exits", "sma_strategy"} <= set(rows)
    sma = rows["sma_strategy"]
    assert sma["status"] == "enabled"
    assert sma["source"] == "entry point"
    assert sma["distribution"] == "sma-strategy"
    assert sma["version"] == "0.1.0"
    assert sma["hooks"] == ["configure", "on_trade_executed", "propose_orders", "run_report"]
    assert rows["dtms"]["source"] == "entry point"
    assert rows["dtms"]["status"] in {"enabled", "failed"}  # failed = not importable (yet)
    for row in rows.values():
        assert set(row) == {
            "name",
            "distribution",
            "version",
            "source",
            "hooks",
            "status",
            "error",
            "failed_in",
            "warnings",
        }


def test_plugins_table_by_default(tmp_path: Path) -> None:
    proc = hostapp("plugins", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, *lines = proc.stdout.splitlines()
    assert header.split() == ["NAME", "SOURCE", "VERSION", "STATUS", "HOOKS"]
    sma = next(line for line in lines if line.startswith("sma_strategy "))
    assert "entry point" in sma and "enabled" in sma and "propose_orders" in sma


def test_env_disable_blocks_sma_strategy_before_import(tmp_path: Path) -> None:
    enabled = probe(tmp_path, clean_env())
    assert "sma_strategy.plugin" in enabled["imported"]  # the probe can see an import
    result = probe(tmp_path, clean_env(HOSTAPP_DISABLE_PLUGINS="sma_strategy"))
    assert result["code"] == 0
    assert by_name(result["listing"])["sma_strategy"]["status"] == "disabled"
    assert result["imported"] == []


def test_allow_list_env_disables_everything_else(tmp_path: Path) -> None:
    result = probe(tmp_path, clean_env(HOSTAPP_LOAD_PLUGINS="sma_strategy"))
    statuses = {r["name"]: r["status"] for r in result["listing"]}
    assert statuses["sma_strategy"] == "enabled"
    assert statuses["dtms"] == statuses["exits"] == "disabled"
    empty = probe(tmp_path, clean_env(HOSTAPP_LOAD_PLUGINS=""))
    assert {r["status"] for r in empty["listing"]} == {"disabled"}
    assert empty["imported"] == []


def test_plugins_toml_disables_sma_strategy(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[plugins]\ndisabled = ["sma_strategy"]\n')
    result = probe(tmp_path, clean_env())  # ./plugins.toml is the default
    assert by_name(result["listing"])["sma_strategy"]["status"] == "disabled"
    assert result["imported"] == []
    other = tmp_path / "sub"
    other.mkdir()
    proc = hostapp("plugins", "--json", "--config", str(tmp_path / "plugins.toml"), cwd=other)
    assert by_name(json.loads(proc.stdout))["sma_strategy"]["status"] == "disabled"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[plugins\n", "invalid TOML"),
        ("[plugins]\nordr = []\n", "[plugins]: unknown key 'ordr'"),
        ("[plugins]\norder = 3\n", "[plugins]: key 'order': expected a list, got 3"),
        ("[host]\ncycle_seconds = 'x'\n", "[host]: key 'cycle_seconds'"),
        ("[plugin.ghost]\nx = 1\n", "[plugin.ghost]: no plugin named 'ghost'"),
    ],
)
def test_malformed_config_is_one_line_and_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    proc = hostapp("plugins", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"hostapp: {path}")
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    proc = hostapp("plugins", "--config", "nope.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "hostapp: nope.toml: no such configuration file"


def test_unknown_name_in_env_is_one_line(tmp_path: Path) -> None:
    proc = hostapp("plugins", cwd=tmp_path, env=clean_env(HOSTAPP_DISABLE_PLUGINS="ghost"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("hostapp: HOSTAPP_DISABLE_PLUGINS: no plugin named 'ghost'")
    assert len(proc.stderr.splitlines()) == 1


def test_every_command_takes_config(tmp_path: Path) -> None:
    for command in (["plugins"], ["run"], ["replay", "x.csv"]):
        proc = hostapp(*command, "--help", cwd=tmp_path)
        assert proc.returncode == 0
        assert "--config FILE" in proc.stdout


@pytest.mark.parametrize("buffered", [False, True])
def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path: Path, buffered: bool) -> None:
    """``hostapp plugins --json | head -c 10``: the reader closes the pipe; the command
    stops without a traceback (unbuffered, the write fails in the listing; buffered, at
    the flush), with the shell's code for SIGPIPE."""
    proc = into_closed_pipe([str(HOSTAPP), "plugins", "--json"], tmp_path, clean_env(),
                            buffered=buffered)  # fmt: skip
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_the_listing_checks_every_enabled_plugins_settings(tmp_path: Path) -> None:
    """``hostapp plugins`` listed a plugin with a mistake in its table as ``enabled`` and
    exited 0, where ``hostapp run`` on the same file exits 2: the plugins' settings are
    read by their ``configure``, which the listing now runs too (state in a temporary
    folder, removed after)."""
    shipped = (Path(__file__).resolve().parents[2] / "plugins.toml").read_text()
    (tmp_path / "plugins.toml").write_text(shipped + "\n[plugin.sma_strategy]\nfats = 10\n")
    for args in (("plugins",), ("plugins", "--json")):
        proc = hostapp(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "[plugin.sma_strategy]" in lines[0] and "fats" in lines[0]
        assert "sma_strategy" in proc.stdout and "dtms" in proc.stdout  # listed all the same
    (tmp_path / "plugins.toml").write_text(shipped)
    proc = hostapp("plugins", cwd=tmp_path)
    assert proc.returncode == 0 and "sma_strategy" in proc.stdout
    assert not (tmp_path / ".hostapp").exists()  # the check's state went to a temporary folder


def test_an_optional_plugin_not_named_is_not_listed_as_disabled(tmp_path: Path) -> None:
    """Not switched on is not turned off: the listing said ``disabled`` for both."""
    (tmp_path / "plugins.toml").write_text('[plugins]\ndisabled = ["sma_strategy"]\n')
    proc = hostapp("plugins", "--json", cwd=tmp_path, env=clean_env())
    rows = by_name(json.loads(proc.stdout))
    assert rows["atr_trailing"]["status"] == "optional"
    assert rows["sma_strategy"]["status"] == "disabled"
    table = hostapp("plugins", cwd=tmp_path, env=clean_env()).stdout
    (line,) = [row for row in table.splitlines() if row.startswith("atr_trailing ")]
    assert "not enabled (optional)" in line


LISTED = """
from pathlib import Path
from hookspecs import hookimpl

class Broken:
    @hookimpl
    def configure(self, host):
        raise RuntimeError("cannot read its model")

class Noisy:
    "Says that the host started and stopped: at every listing, it said it stopped."
    @hookimpl
    def configure(self, host):
        Path("configured").write_text("x")

    @hookimpl
    def startup(self, host):
        Path("started").write_text("x")

    @hookimpl
    def shutdown(self, host):
        Path("stopped").write_text("x")
"""


def test_the_listing_lists_every_plugin_when_one_cannot_be_configured(tmp_path: Path) -> None:
    """A plugin whose configure raised, or whose table had a typo, emptied the listing
    (exit 2, nothing on stdout), though the listing is how one finds out which plugin is
    broken; and every listing ran each plugin's shutdown without its startup."""
    env = install(tmp_path, LISTED, {"broken": "Broken", "noisy": "Noisy"})
    shipped = (Path(__file__).resolve().parents[2] / "plugins.toml").read_text()
    (tmp_path / "plugins.toml").write_text(shipped + "\n[plugin.sma_strategy]\nfats = 10\n")
    proc = hostapp("plugins", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    rows = by_name(json.loads(proc.stdout))
    assert rows["broken"]["status"] == rows["sma_strategy"]["status"] == "failed"
    assert rows["broken"]["error"] == "configure: RuntimeError: cannot read its model"
    assert rows["noisy"]["status"] == rows["dtms"]["status"] == "enabled"
    lines = proc.stderr.splitlines()
    assert (
        lines[0]
        == "hostapp: plugin 'broken': configure failed: RuntimeError: cannot read its model"
    )
    assert len(lines) == 2 and "[plugin.sma_strategy]" in lines[1] and "fats" in lines[1]
    assert (tmp_path / "configured").exists()  # its settings were checked
    assert not (tmp_path / "started").exists() and not (tmp_path / "stopped").exists()
    table = hostapp("plugins", cwd=tmp_path, env=env)
    assert table.returncode == 2 and table.stderr == proc.stderr
    # each failure once, on stderr (with the file): the table said it again, without it
    assert "cannot read its model" not in table.stdout and "fats" not in table.stdout
    listed = {r.split()[0]: r for r in table.stdout.splitlines()[1:] if r.strip()}
    assert " failed " in listed["broken"] and " failed " in listed["sma_strategy"]


def test_the_listing_lists_every_plugin_past_one_of_a_name_it_cannot_take(tmp_path: Path) -> None:
    """An entry point named ``run_report`` (the host's own recorder's name), or a name two
    plugins claim, stopped ``hostapp plugins`` in one line with no listing, which is how
    one finds what is installed: both are listed now, failed with why, beside the others;
    each failure is one line on stderr, exit 2."""
    source = "class A:\n    pass\nclass B:\n    pass\n"
    env = install(tmp_path, source, {"run_report": "A", "exits": "B", "fine": "A"})
    proc = hostapp("plugins", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    rows = by_name(json.loads(proc.stdout))
    assert rows["fine"]["status"] == rows["dtms"]["status"] == "enabled"
    assert rows["run_report"]["status"] == rows["exits"]["status"] == "failed"
    assert "the name of the host's own run recorder" in rows["run_report"]["error"]
    assert "two plugins are named 'exits'" in rows["exits"]["error"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert any("two plugins are named 'exits'" in line for line in lines)
    assert any("'run_report', the name of the host's own run recorder" in line for line in lines)
    table = hostapp("plugins", cwd=tmp_path, env=env)
    assert table.returncode == 2 and table.stderr == proc.stderr
    assert {"fine", "run_report", "exits", "dtms"} <= {
        r.split()[0] for r in table.stdout.splitlines()[1:] if r.strip()
    }
