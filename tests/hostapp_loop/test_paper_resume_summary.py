"""The summary of a paper live run that resumed an account: its drawdown is this run's,
from the balance it started with, over the trades it closed (the account's older history
made it 1,038 on a session that never had that much to lose), and the closes of positions
it found open are said apart from its own trades."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hostapp_loop.test_paper_resume import ACCOUNT, ROOT, _run

from hookspecs import Trade
from hostapp.loop_stats import LoopStats
from hostapp.report import max_drawdown
from hostapp.run_notes import carried_note


def test_a_resumed_run_summarises_its_own_session(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    assert _run(tmp_path, 1, "r1").returncode == 0
    first = json.loads((tmp_path / "r1" / "summary.json").read_text())
    con = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        before = {row[0] for row in con.execute("SELECT ticket FROM history")}
    finally:
        con.close()
    again = _run(tmp_path, 2, "r2")
    assert again.returncode == 0, again.stderr[-2000:]
    second = json.loads((tmp_path / "r2" / "summary.json").read_text())
    con = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        rows = con.execute(
            "SELECT ticket, symbol, direction, volume, entry_price, opened_at, profit, "
            "closed_at FROM history"
        ).fetchall()
    finally:
        con.close()
    mine = [
        Trade(t, s, d, v, e, None, None, datetime.fromtimestamp(o).astimezone(),
              profit=p, closed_at=datetime.fromtimestamp(c).astimezone())
        for t, s, d, v, e, o, p, c in rows
        if t not in before
    ]  # fmt: skip
    assert mine and len(mine) < len(rows)  # the account has an older history too
    assert (second["max_drawdown"], second["max_drawdown_pct"]) == max_drawdown(
        second["start_balance"], mine
    )
    resumed = datetime(2024, 1, 2, tzinfo=UTC)  # where the first run's day ended
    carried = [t for t in mine if t.opened_at < resumed]
    said = [n for n in second["host_notes"] if "open when this run started" in n]
    assert len(said) == (1 if carried else 0), (first["positions_open_at_end"], said)
    if carried:
        assert f"their result {sum(t.profit for t in carried):+,.2f} over their whole" in said[0]


def test_closes_of_positions_open_when_the_run_started_are_said_apart() -> None:
    """Counted as they close, not matched against the entries: a live run keeps only its
    newest entries and closes, and its own early trades read as carried over then."""
    stats = LoopStats()
    stats.open_at_start.update({2, 3})
    for ticket, profit in ((2, -3.0), (3, 1.5)):
        stats.carried_closed(ticket, profit)
    assert carried_note(stats) == (
        "2 positions open when this run started closed during it (a restarted host's "
        "trades and their hedges, or opened by hand), their result -1.50 over their whole "
        "lives (parts closed before this run included; the run's P&L has only what closed "
        "during it): in the position closes by reason, not in the trades"
    )
    assert carried_note(LoopStats()) is None
