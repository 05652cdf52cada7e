"""Every simulated run's report has its ``trades.csv`` (``hostapp replay --help``: "the
report (summary.json, charts, trades.csv)"; README: a simulated run keeps "its trades in
trades.csv"): a plain ``hostapp replay FILE`` and ``hostapp run --no-compare`` once wrote
none, only an A/B's ``compare/`` had one. One row per trade, in the A/B's columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, python

from hostapp.outcomes import TRADE_COLUMNS


def _rows(report: Path) -> tuple[dict[str, object], list[dict[str, str]]]:
    summary = json.loads((report / "summary.json").read_text())
    with (report / summary["trades_csv"]).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == TRADE_COLUMNS
        return summary, list(reader)


def test_a_plain_replay_and_a_run_write_one_row_per_trade(tmp_path: Path) -> None:
    here = bars_folder(tmp_path)
    proc = python(here, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary, rows = _rows(here / "rep")
    assert summary["trades"] > 0 and len(rows) == summary["trades"]
    assert len({r["ticket"] for r in rows}) == len(rows)
    assert {(r["comparison"], r["run"], r["pair"]) for r in rows} == {("", "run", "")}
    assert {r["symbol"] for r in rows} == {"XAUUSD"}
    closed = [r for r in rows if r["close_reason"] != "open"]
    assert len(closed) == summary["closed_trades"]
    assert not (here / "rep" / "compare").exists()

    argv = ("-m", "hostapp.cli", "run", "--days", "3", "--no-compare", "--report", "ran")
    proc = python(here, *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary, rows = _rows(here / "ran")
    assert summary["trades"] > 0 and len(rows) == summary["trades"]
