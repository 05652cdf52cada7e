"""The table's closes by reason count positions, a trade's hedge as well as the trade,
and its row says so. A replay in which DTMS hedged its one trade and then closed both
read "trades closed 1" beside "closes by reason action 2", with nothing to tell why.
summary.json keeps its key ``closes_by_reason`` and its count of positions. A real
replay of the host with DTMS."""

from __future__ import annotations

from pathlib import Path

from support.hedged_replay import hedged_replay

from hostapp.report import summary_table


def test_the_closes_row_says_it_counts_positions_hedges_too(tmp_path: Path) -> None:
    summary = hedged_replay(tmp_path)
    assert summary["closed_trades"] == 1
    assert summary["actions"].get("hedge") == 1
    assert summary["closes_by_reason"] == {"action": 2}  # the trade and its hedge
    rows = [" ".join(line.split()) for line in summary_table(summary).splitlines()]
    assert "trades closed 1" in rows
    assert "position closes by reason (hedges too) action 2" in rows
    assert not any(row.startswith("closes by reason") for row in rows)
