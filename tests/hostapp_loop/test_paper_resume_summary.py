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
from hostapp.driving import carried_note
from hostapp.loop_stats import LoopStats
from hostapp.report import max_drawdown


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
    carried = [n for n in second["host_notes"] if "this run did not open" in n]
    assert bool(carried) is (first["open_at_end"] > 0), (first["open_at_end"], carried)


def test_closes_of_positions_the_run_did_not_open_are_said_apart() -> None:
    at = datetime(2024, 1, 2, tzinfo=UTC)

    def t(ticket: int, profit: float, comment: str = "") -> Trade:
        return Trade(ticket, "XAUUSD", "buy", 0.1, 2000.0, None, None, at, comment=comment,
                     profit=profit)  # fmt: skip

    stats = LoopStats()
    stats.entries.append((at, t(1, 0.0), "sma"))
    stats.closes.extend([
        (at, t(1, 5.0), "take_profit"),
        (at, t(2, -3.0), "stop_loss"),  # open before the run started
        (at, t(3, 1.5, "DTMS_HEDGE_2"), "action"),  # its hedge
        (at, t(4, 2.0, "DTMS_HEDGE_1"), "action"),  # the hedge of this run's own trade
    ])  # fmt: skip
    assert carried_note(stats) == (
        "2 positions this run did not open closed during it (open before it started: a "
        "restarted host's trades, their hedges, or opened by hand), P&L -1.50: in the P&L "
        "and the closes by reason, not in the trades"
    )
    assert carried_note(LoopStats()) is None
