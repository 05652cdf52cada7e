"""``--compare dtms --against atr_trailing`` with the shipped plugins.toml runs the exit
manager (``exits``: breakeven, trail, partial close) in every run, so each column is of
a manager on top of it, not of the two alone as docs/dtms.md §6 measured them. The A/B
says so in one note naming every such plugin by the hook it shares
(``manage_positions``) and how to leave it out; left out, the note goes."""

from __future__ import annotations

import json
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, replay

COMMAND = ("XAUUSD.csv", "--compare", "dtms", "--against", "atr_trailing", "--json")


def test_a_position_manager_on_in_every_run_is_named_with_how_to_leave_it_out(
    tmp_path: Path,
) -> None:
    here = bars_folder(tmp_path, bars=1200, seed=4)
    proc = replay(here, *COMMAND, "--report", "with_exits")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert "exits" in summary["in_every_run"]
    said = [n for n in summary["notes"] if "managed positions (manage_positions)" in n]
    assert said == [
        "exits also managed positions (manage_positions) in every run, beside atr_trailing "
        "and dtms: each column is of its manager on top of exits; to compare atr_trailing "
        "and dtms alone, leave exits out (HOSTAPP_DISABLE_PLUGINS=exits before the command, "
        'or [plugins] disabled = ["exits"] in plugins.toml)'
    ]

    env = {"HOSTAPP_DISABLE_PLUGINS": "exits"}
    proc = replay(here, *COMMAND, "--report", "alone", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    alone = json.loads(proc.stdout)
    assert "exits" not in alone["in_every_run"]
    assert not any("manage_positions" in n for n in alone["notes"])
    baseline = alone["same_entries"]["without"]
    assert baseline["position_managers"] == ["atr_trailing"]
    assert baseline["plugin_reports"]["atr_trailing"]["stops_moved"] > 0
