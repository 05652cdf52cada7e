"""A live host restarted with the plugin that defended its positions switched off (DTMS
disabled in plugins.toml, say) started without a word: the positions the run before
left open were no longer defended, and nothing told the trader. Now the start says which
plugin defended them and how many positions are open. Real runs in subprocesses on one
paper account and one report folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hostapp_loop.test_paper_resume import ACCOUNT, ROOT

from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings


def _run(cwd: Path, days: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--days", str(days), "--report", "live"]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _open_by_hand(folder: Path) -> None:
    """A position opened on the account between the runs (by the trader, or left by a
    bot): the run before closed all of its own."""
    broker = PaperBroker(settings=PaperSettings(account_file=str(folder / ACCOUNT)))
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.01))
    assert opened.ok, opened
    broker.release()


def test_a_restart_without_the_defender_of_open_positions_says_so(tmp_path: Path) -> None:
    config = tmp_path / "plugins.toml"
    shutil.copy(ROOT / "plugins.toml", config)
    first = _run(tmp_path, 1)
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads((tmp_path / "live" / "summary.json").read_text())["defenders"] == ["dtms"]
    _open_by_hand(tmp_path)
    still_on = tmp_path / "still_on"
    shutil.copytree(tmp_path, still_on, ignore=shutil.ignore_patterns("still_on"))
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("disabled = []", 'disabled = ["dtms"]', 1), encoding="utf-8")
    off = _run(tmp_path, 2)
    assert off.returncode == 0, off.stderr[-2000:]
    line = (
        "dtms defended this account's positions in the run before and does not run now"
        " (disabled, not installed or refused to start): 1 open position on the account is"
        " not defended by it"
    )
    assert f"hostapp: {line}" in off.stderr.splitlines(), off.stderr[-3000:]
    assert line in (tmp_path / "live" / "hostapp.log").read_text(encoding="utf-8")
    on = _run(still_on, 2)  # the same restart with dtms on: nothing to say
    assert on.returncode == 0, on.stderr[-2000:]
    assert "defended this account's positions" not in on.stderr
