"""An A/B says which trades the exit manager left alone because ``is_defensive``
answered True, and whether those answers were for the trade's own state: in DTMS's
account defensive mode (its rails: docs/dtms.md §7) every ticket is defensive, the exit
manager moved no stop of trades DTMS had not even armed, and the same-entries column
lost R on trades all of them held, while the only words were "DTMS evaluated 0 of N
trades"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostapp_loop.replay_cli import bars_folder, replay

from hostapp.compare_held import held_note

#: DTMS never arms a trade; its account rails trip at the first stop or a 0.5 % loss.
IDLE_WITH_RAILS = """
[plugin.dtms.arming]
age_bars = 10000
profit_r = 1000
loss_r = -1000

[plugin.dtms.rails]
daily_loss_pct = 0.5
stop_streak = 1
"""


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    here = bars_folder(tmp_path_factory.mktemp("held"), bars=3000)
    with (here / "plugins.toml").open("a") as f:
        f.write(IDLE_WITH_RAILS)
    proc = replay(here, "XAUUSD.csv", "--compare", "--jobs", "1", "--report", "ab")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads((here / "ab" / "summary.json").read_text())


def test_the_notes_say_the_trades_left_alone_and_that_no_answer_was_for_the_trade(
    ab: tuple[str, dict[str, Any]],
) -> None:
    stdout, summary = ab
    same = summary["same_entries"]["with"]
    held = same["exits_held_defensive"]
    assert held and same["exits_held_not_own_state"] == held  # DTMS armed none of them
    assert same["plugin_reports"]["dtms"]["evaluated"] == 0
    mine = summary["same_entries"]["paired"]["held_defensive"]
    (note,) = [n for n in summary["notes"] if n.startswith("with dtms, same entries: exits")]
    assert note.startswith(
        f"with dtms, same entries: exits left {len(held)} trades ({sum(held.values())} holds) "
        "alone (no stop moved, no part closed) because is_defensive said they were defensive "
        "(answered by dtms); every hold came while the trade's own state was not defensive"
    )
    assert "dtms answered for the whole account" in note
    changed = summary["same_entries"]["paired"]["trades_changed"]
    assert f"of the {changed} trades changed, {mine['trades_changed']} are among them" in note
    assert f"note: {note}" in stdout
    assert 0 < mine["trades_changed"] <= changed


def run(held: dict[str, int], not_own: dict[str, int], **more: Any) -> dict[str, Any]:
    return {
        "exits_held_defensive": held,
        "exits_held_not_own_state": not_own,
        "defenders": ["dtms"],
        "plugin_reports": {"exits": {"held_defensive": held}},
        **more,
    }


def test_holds_for_the_trades_own_state_are_told_apart() -> None:
    text = held_note("with dtms, full", run({"1": 2, "2": 1, "3": 1}, {"3": 1}), None)
    assert text == (
        "with dtms, full: exits left 3 trades (4 holds) alone (no stop moved, no part closed) "
        "because is_defensive said they were defensive (answered by dtms); 1 trade (1 hold) "
        "came while "
        "the trade's own state was not defensive (no HEDGED or WARNING_L2 said by "
        "on_state_change): dtms answered for the whole account (a defensive mode of the "
        "account), not for the trade"
    )


def test_holds_all_for_the_trades_own_state_say_only_the_count() -> None:
    text = held_note("full", run({"1": 2}, {}), None)
    assert text is not None and "own state" not in text and "1 trade (2 holds)" in text
    assert held_note("full", run({}, {}), None) is None


def test_a_switched_off_defender_may_have_failed_safe() -> None:
    tripped = [{"plugin": "dtms", "why": "boom"}]
    text = held_note("full", run({"1": 1}, {"1": 1}, tripped=tripped), None)
    assert text is not None and text.endswith("or failed safe (dtms switched off)")
