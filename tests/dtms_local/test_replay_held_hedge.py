"""A replay whose spread widens as its trade reaches the hedge threshold says the hold:
in the log (what a run's hostapp.log gets), and in the run's report, its figure and its
note under the table. Before, such a run left no trace of it: the trade stayed in
WARNING_L2 and nothing said why. A real replay of the host with DTMS; the bars' spread is
1.0 for the 15th to the 44th bar of the fall (0.2 elsewhere): DTMS hedges once it
narrows (docs/dtms.md §5 and §7)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.hedged_replay import hedged_replay

from hostapp.report import summary_table


def test_a_replay_says_the_hedge_it_held_back_and_counts_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    summary = hedged_replay(tmp_path, wide=range(1215, 1245))
    said = [
        r.getMessage()
        for r in caplog.records
        if "held back" in r.getMessage() and r.levelno == logging.WARNING
    ]
    assert said == [
        "DTMS 1 (XAUUSD): hedge held back (VWAP slope against): spread above the limit; it "
        "stays WARNING_L2 (said once: the hold's end is said with how many cycles it lasted)",
        "DTMS 1: hedge no longer held back (WARNING_L2→HEDGED: VWAP slope against), after "
        "10 cycles since 2026-01-05 13:00 (held back 10 times: spread above the limit)",
    ]
    report = summary["plugin_reports"]["dtms"]
    assert report["hedges_held_back"] == {"spread above the limit": 1}
    assert summary["actions"].get("hedge") == 1  # hedged once the spread narrowed
    table = summary_table(summary).splitlines()
    assert (
        "note (dtms): DTMS held 1 hedge back for the spread (ticket 1): each trade stayed in "
        "its state meanwhile"
    ) in table


def test_a_replay_without_a_wide_spread_holds_nothing_back(tmp_path: Path) -> None:
    summary = hedged_replay(tmp_path)
    assert "hedges_held_back" not in summary["plugin_reports"]["dtms"]
    assert summary["actions"].get("hedge") == 1
