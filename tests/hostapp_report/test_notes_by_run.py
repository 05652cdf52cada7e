"""Notes that differ by run are said with the run: an account that went bust in the run
with the plugin (the broker refused its orders) while the baseline's did not must show in
the A/B's notes, and a sweep row whose run took fewer entries than the baseline is marked
so that it is not read beside complete rows as like with like."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hostapp.compare_notes import notes
from hostapp.config import load_config
from hostapp.sweep_table import Row, print_sweep

ROOT = Path(__file__).resolve().parents[2]
REFUSED = (
    "the broker refused 862 of the 2246 orders proposed: no_money 862 (equity is not positive)"
)
GUESSED = "the paper broker does not know GBPUSD and guessed the trading rules from the prices"


def report(without: list[str], same: list[str], full: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "plugin": "dtms",
        "against": None,
        "same_entries": {"without": {"host_notes": without}, "with": {"host_notes": same}},
    }
    if full is not None:
        out["full"] = {"with": {"host_notes": full}, "without": {"host_notes": without}}
    return out


def test_a_refusal_in_the_run_with_the_plugin_alone_is_said_with_that_run() -> None:
    said = notes(report([GUESSED], [GUESSED, REFUSED], [GUESSED]))
    assert said == [GUESSED, f"with dtms, same entries run: {REFUSED}"]


def test_a_note_of_two_runs_of_three_names_both() -> None:
    said = notes(report([], [REFUSED], [REFUSED]))
    assert said == [f"with dtms, same entries and with dtms, full runs: {REFUSED}"]


OVER_RISK = (
    "81 of 288 orders risked more than the 1 % asked, up to 127.3 %: the symbol's minimum lot "
    "loses more than that at the stop"
)


def test_a_plugin_note_names_every_run_that_said_it_the_baseline_too() -> None:
    """The strategy over-risked in the baseline as in the full run (it proposes no order
    in the same-entries run, whose entries are the baseline's): the note named only the
    full run, and the baseline's plugin notes were never shown."""
    rep = report([], [], [])
    rep["same_entries"]["without"]["plugin_reports"] = {
        "sma_strategy": {"note": OVER_RISK},
        "exits": {"note": "the partial close could not act on 3 trades"},
    }
    rep["same_entries"]["with"]["plugin_reports"] = {
        "exits": {"note": "the partial close could not act on 3 trades"}
    }
    rep["full"]["with"]["plugin_reports"] = {"sma_strategy": {"note": OVER_RISK}}
    assert notes(rep) == [
        "exits (without dtms, same entries): the partial close could not act on 3 trades",
        f"sma_strategy (without dtms, full): {OVER_RISK}",
    ]


FIGURES = {
    "pairs": 2246, "unpaired": 0, "winners_r_kept": 0.9, "losers_r_saved": 131.7,
    "max_drawdown_without": 9773.7, "max_drawdown_with": 9864.2, "avg_r_without": -0.11,
    "avg_r_with": -0.10,
}  # fmt: skip


def test_a_sweep_row_that_paired_fewer_entries_is_marked(capsys: pytest.CaptureFixture) -> None:
    whole = Row((("dtms.trail.atr_multiple", 4),), dict(FIGURES))
    bust = Row((("dtms.trail.atr_multiple", 2),), {**FIGURES, "pairs": 1384, "unpaired": 862})
    summary = {"plugin": "dtms", "against": None, "criterion": "highest average R"}
    config = load_config(ROOT / "plugins.toml")
    print_sweep(config, summary, [whole, bust], [], ["dtms.trail.atr_multiple"], False)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "│" in line]
    assert [line.split("│")[1].strip() for line in lines] == ["1", "2*"]
    assert "862" in lines[1]
    assert "*: the run with dtms did not take every entry of the baseline" in out
    assert "do not compare like with like" in out


def test_the_vetoes_overridden_in_the_same_entries_run_are_said_under_their_plugin() -> None:
    """``--compare time_stop`` said "time_stop would have vetoed 4 of the same entries"
    when time_stop vetoes nothing: the four were DTMS's."""
    said = report([], [])
    said["plugin"] = "time_stop"
    said["same_entries"]["with"]["entries_veto_overridden"] = 4
    said["same_entries"]["with"]["entries_veto_overridden_by"] = {"dtms": 4}
    (line,) = notes(said)
    assert not line.startswith("time_stop would have vetoed")
    assert "4 of the same entries would have been vetoed by other plugins than time_stop" in line
    assert "(dtms 4)" in line
    said["same_entries"]["with"]["entries_veto_overridden_by"] = {"dtms": 4, "time_stop": 2}
    mine, others = notes(said)
    assert mine.startswith("time_stop would have vetoed 2 of the same entries; they were taken")
    assert others.startswith("4 of the same entries would have been vetoed by other plugins")


def test_the_counts_of_vetoes_overridden_have_thousands_separators() -> None:
    """A long replay said "dtms would have vetoed 1068 of the same entries"."""
    said = report([], [])
    said["same_entries"]["with"]["entries_veto_overridden_by"] = {"dtms": 1068, "exits": 1234}
    mine, others = notes(said)
    assert mine.startswith("dtms would have vetoed 1,068 of the same entries;")
    assert others.startswith("1,234 of the same entries would have been vetoed by other")
    assert "(exits 1,234)" in others


def paired(net_r: float, pnl_without: float, pnl_with: float) -> dict[str, Any]:
    said = report([], [])
    said["same_entries"]["paired"] = {"net_r_change": net_r}
    said["same_entries"]["without"]["pnl"] = pnl_without
    said["same_entries"]["with"]["pnl"] = pnl_with
    return said


def test_a_net_r_change_and_a_money_change_of_opposite_signs_are_said_apart() -> None:
    """+12.5R with DTMS on the same entries, and 1,250.40 less money: risk-sized orders
    risk a share of a balance that changes, so one is not the other."""
    (line,) = notes(paired(12.5, 4000.0, 2749.6))
    assert line.startswith(
        "on the same entries the net R change is +12.50R but the realised P&L changed by "
        "-1,250.40: the two disagree because orders sized by risk"
    )
    assert notes(paired(12.5, 4000.0, 5000.0)) == []  # they agree: nothing to say
    assert notes(paired(-3.0, 100.0, 100.0)) == []  # no money change
    assert len(notes(paired(-3.0, 100.0, 250.0))) == 1
