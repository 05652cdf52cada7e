"""The guide's example plugin and its test (docs/plugins.md), run as the guide writes them,
read out of the page, so a reader who copies them gets what works.

* its test, as its own file beside the plugin's, by pytest in a process of its own (the
  fixtures come from the ``pytest11`` entry point, as for any plugin author);
* the plugin installed as a third party's is (a distribution with the guide's entry
  point, the guide's ``[plugin.max_open_trades]`` table) in two live paper runs on one
  account, the second a restart beside the positions the first left open. The guide's
  first version counted ``on_trade_executed`` events: with a limit of 2, the restarted
  host held 3 positions (4 in the report that found it). Counting what the broker holds,
  no moment of either run holds more than the limit.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
LIMIT_IN_GUIDE = 2


def _blocks() -> dict[str, str]:
    """The guide's code blocks by their first line (``# max_open_trades.py``) or, for a
    TOML block, the table it opens with."""
    found: dict[str, str] = {}
    for lang, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        first = body.splitlines()[0].strip()
        if lang == "python" and first.startswith("# ") and first.endswith(".py"):
            found[first[2:]] = body
        elif lang == "toml" and "max_open_trades" in body:
            found[first] = body
    return found


def _env(extra_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return env


def test_the_guides_test_passes_as_written(tmp_path: Path) -> None:
    blocks = _blocks()
    (tmp_path / "max_open_trades.py").write_text(blocks["max_open_trades.py"])
    (tmp_path / "test_max_open_trades.py").write_text(blocks["test_max_open_trades.py"])
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")  # as it says
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_max_open_trades.py"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


def _install(plugins: Path, blocks: dict[str, str]) -> None:
    """The plugin as a distribution on the path, its entry point the guide's."""
    plugins.mkdir()
    (plugins / "max_open_trades.py").write_text(blocks["max_open_trades.py"])
    points = tomllib.loads(blocks["[project.entry-points.hostapp]"])
    group = points["project"]["entry-points"]["hostapp"]
    dist = plugins / "guide_guard-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: guide-guard\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in group.items())
    (dist / "entry_points.txt").write_text(f"[hostapp]\n{lines}")


def _most_open_at_once(account: Path) -> int:
    """The most positions the paper account held at one moment, over both runs."""
    with sqlite3.connect(account) as db:
        spans = db.execute("SELECT opened_at, closed_at FROM history").fetchall()
        spans += [(t, float("inf")) for (t,) in db.execute("SELECT opened_at FROM positions")]
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    most = held = 0
    for _, step in events:
        held += step
        most = max(most, held)
    return most


def test_the_guides_plugin_holds_its_limit_across_a_restart(tmp_path: Path) -> None:
    blocks = _blocks()
    table = blocks["[plugin.max_open_trades]"]
    assert tomllib.loads(table)["plugin"]["max_open_trades"]["limit"] == LIMIT_IN_GUIDE
    _install(tmp_path / "plugins", blocks)
    # the example strategy proposes; stops so wide that its positions stay open, and
    # nothing else closes them (DTMS and the exit manager off)
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD", "EURUSD"]\n'
        '[host.paper]\naccount_file = "account.sqlite"\n'
        '[plugins]\ndisabled = ["dtms", "exits"]\norder = ["max_open_trades"]\n'
        "[plugin.sma_strategy]\nsl_atr = 30.0\ntp_atr = 100.0\n" + table
    )
    env = _env(tmp_path / "plugins")
    for report, days in (("first", "3"), ("restarted", "6")):
        argv = ["run", "--live", "--speed", "50000", "--days", days, "--report", report]
        done = subprocess.run(
            [sys.executable, "-m", "hostapp.cli", *argv],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        summary = json.loads((tmp_path / report / "summary.json").read_text())
        assert summary["positions_open_at_end"] <= LIMIT_IN_GUIDE, done.stdout[-2000:]
        assert summary["orders_vetoed"] > 0  # the guard had work to do
    assert "was last traded at" in done.stderr  # the second run resumed the account
    assert _most_open_at_once(tmp_path / "account.sqlite") == LIMIT_IN_GUIDE
