"""What an A/B calls the compared plugin's doing is its own (hostapp.compare.activity), in
real processes with third-party plugins installed as any are. A probe's plugin that closed
each position after 10 cycles through ``host.execute``, naming no ``source`` and giving no
``run_report``, changed 135 trades and was then called one that "did nothing ... took no
action and vetoed nothing" (exit 3): its actions were counted under no plugin. A plugin
with an empty ``on_cycle`` passed (exit 0): the 118 vetoes of another plugin's guard were
counted as its activity."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder
from support.plugin_dist import hostapp, install

PLUGINS = textwrap.dedent(
    """
    from hookspecs import Action, ActionKind, hookimpl

    class Closer:
        def __init__(self):
            self.ages = {}

        @hookimpl
        async def manage_positions(self, host):
            for p in host.broker.positions():
                self.ages[p.ticket] = self.ages.get(p.ticket, 0) + 1
                if self.ages[p.ticket] == 10 and not host.is_defensive(p.ticket):
                    await host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"{p.ticket}"))

    class Nothing:
        @hookimpl
        def on_cycle(self, now):
            pass

    class Guard:
        def __init__(self):
            self.asked = 0

        @hookimpl
        def allow_order(self, order):
            self.asked += 1
            return "every other order" if self.asked % 2 else None
    """
)

ENTRIES = {"closer": "Closer", "nothing": "Nothing", "guard": "Guard"}


def _compare(tmp_path: Path, plugin: str, off: str) -> tuple[int, str, dict]:
    env = install(tmp_path, PLUGINS, ENTRIES)
    env["HOSTAPP_DISABLE_PLUGINS"] = off
    done = hostapp(
        bars_folder(tmp_path, bars=1200), env, "replay", "XAUUSD.csv", "--compare", plugin,
        "--report", "rep", "--jobs", "1",
    )  # fmt: skip
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    return done.returncode, done.stderr, summary


def test_a_manager_that_acts_without_naming_itself_did_something(tmp_path: Path) -> None:
    code, err, summary = _compare(tmp_path, "closer", "dtms,nothing,guard")
    same = summary["same_entries"]
    assert same["paired"]["trades_changed"] > 0
    assert "did nothing" not in err, err[-2000:]
    assert code == 0, err[-2000:]
    assert same["with"]["actions_by_source"].get("closer"), same["with"]["actions_by_source"]


def test_another_plugin_s_vetoes_are_not_the_compared_plugin_s_doing(tmp_path: Path) -> None:
    code, err, summary = _compare(tmp_path, "nothing", "dtms,closer")
    full = summary["full"]["with"]
    assert full["orders_vetoed"] > 0
    assert "nothing did nothing in the runs with it" in err, err[-2000:]
    assert code == 3
    assert full["orders_vetoed_by"] == {"guard": full["orders_vetoed"]}
