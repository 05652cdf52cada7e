"""Each trades.csv row says what the plugins did to its trade, with times: the defensive
states it entered and the actions carried out on it (a hedge's and a re-add's count for
the trade they were opened for). Before, a run said how many trades reached each state
and how many actions of each kind, never when, nor which trade."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, python


def test_a_replays_rows_carry_the_states_and_actions_the_summary_counts(tmp_path: Path) -> None:
    here = bars_folder(tmp_path)
    proc = python(here, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((here / "rep" / "summary.json").read_text())
    with (here / "rep" / "trades.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    done = [a for r in rows for a in r["actions"].split()]
    by_kind: dict[str, int] = {}
    for a in done:
        kind, _, at = a.partition("@")
        assert at.endswith("+00:00"), a
        by_kind[kind] = by_kind.get(kind, 0) + 1
    failed = summary["actions_failed"]
    ok = {kind: n - failed.get(kind, 0) for kind, n in summary["actions"].items()}
    assert done and by_kind == {k: n for k, n in ok.items() if n}, (by_kind, summary["actions"])
    entered: dict[str, set[str]] = {}
    for r in rows:
        for s in r["states"].split():
            state, _, at = s.partition("@")
            assert r["opened_at"] <= at, (r["ticket"], s)
            entered.setdefault(state, set()).add(r["ticket"])
    reached = {k: v for k, v in summary["states_reached"].items() if v}
    assert reached and {k: len(v) for k, v in entered.items()} == reached
