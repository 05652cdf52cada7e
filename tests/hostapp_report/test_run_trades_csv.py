"""Every simulated run's report has its ``trades.csv`` (``hostapp replay --help``: "the
report (summary.json, charts, trades.csv)"; README: a simulated run keeps "its trades in
trades.csv"): a plain ``hostapp replay FILE`` and ``hostapp run --no-compare`` once wrote
none, only an A/B's ``compare/`` had one. One row per trade, in the A/B's columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, python

from hostapp.report_files import keep_live_summary
from hostapp.trade_rows import TRADE_COLUMNS


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
    said = [line for line in proc.stdout.splitlines() if line.startswith("report: ")]
    assert said == ["report: rep/summary.json, trades.csv, deals.csv and 1 chart in rep/"], said

    argv = ("-m", "hostapp.cli", "run", "--days", "3", "--no-compare", "--report", "ran")
    proc = python(here, *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary, rows = _rows(here / "ran")
    assert summary["trades"] > 0 and len(rows) == summary["trades"]
    said = [line for line in proc.stdout.splitlines() if line.startswith("report: ")]
    charts = len(summary["charts"])
    listed = f"trades.csv, deals.csv and {charts} chart{'s' * (charts > 1)}"
    assert said == [f"report: ran/summary.json, {listed} in ran/"]


def test_a_live_run_writes_its_trades_and_keeps_the_run_befores(tmp_path: Path) -> None:
    """A live run wrote only its summary: the trades behind its figures were nowhere a
    spreadsheet could read them, though ``--report``'s help lists ``trades.csv``. It
    writes them in the same columns (``run`` is ``live``), and a restart keeps the run
    before's as ``trades.csv.1``, as it keeps its summary."""
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "acct.sqlite"\n'
        '[plugin.dtms]\nstate_dir = "dtms"\n'
    )
    argv = ("-m", "hostapp.cli", "run", "--live", "--speed", "1000000", "--days", "6")
    runs = []
    for _ in range(2):
        (tmp_path / "acct.sqlite").unlink(missing_ok=True)  # a fresh account each time
        proc = python(tmp_path, *argv, "--report", "live")
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(_rows(tmp_path / "live"))
    summary, rows = runs[-1]
    assert summary["trades"] > 0 and len(rows) == summary["trades"]
    assert {(r["comparison"], r["run"], r["pair"]) for r in rows} == {("", "live", "")}
    closed = [r for r in rows if r["close_reason"] != "open"]
    assert len(closed) == summary["closed_trades"]
    # what the trades realised, the open ones' partial closes too, is the account's P&L
    assert abs(sum(float(r["profit"]) for r in rows) - summary["pnl"]) < 0.01 * len(rows)
    with (tmp_path / "live" / "trades.csv.1").open(newline="", encoding="utf-8") as f:
        assert list(csv.DictReader(f)) == runs[0][1]  # the run before's, kept


def test_a_kept_trades_file_stays_beside_its_own_runs_summary(tmp_path: Path) -> None:
    """A live run that wrote its summary but not its trades (the write failed) left the
    older run's ``trades.csv.1`` in place: after the next restart ``summary.json.1`` and
    ``trades.csv.1`` were two runs' reports. The kept files move up in step."""
    live = {"recent_window": 1}
    (tmp_path / "summary.json").write_text(json.dumps({**live, "run": 2}))
    (tmp_path / "summary.json.1").write_text(json.dumps({**live, "run": 1}))
    (tmp_path / "trades.csv.1").write_text("run 1\n")  # run 2 wrote no trades.csv
    keep_live_summary(tmp_path)
    assert json.loads((tmp_path / "summary.json.1").read_text())["run"] == 2
    assert not (tmp_path / "trades.csv.1").exists()  # run 2 has none
    assert json.loads((tmp_path / "summary.json.2").read_text())["run"] == 1
    assert (tmp_path / "trades.csv.2").read_text() == "run 1\n"
