"""A live run killed (SIGKILL: no clean stop) leaves the report of what it traded, and the
next start says so and keeps it (hostapp/live_interim.py).

Before, a live run's summary and ``trades.csv`` were written only at a clean stop: a host
killed by its service manager left no report of the trades it closed, and its restart
kept the report of the run before that one. Real processes: ``hostapp run --live
--speed`` on a paper account file, killed by the test once its report folder holds a
summary with closed trades, then started again and stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hookspecs.types import RESERVED_COMMENTS

CONFIG = '[host]\nsymbols = ["XAUUSD", "EURUSD"]\n[host.paper]\naccount_file = "account.sqlite"\n'
ARGV = ["run", "--live", "--speed", "3000", "--days", "20", "--report", "report"]


def _start(cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", *ARGV],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _summary(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet (it is written whole: never half)
    return found if isinstance(found, dict) else None


def _closed_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if row["close_reason"] != "open"]


def _wait(what: str, proc: subprocess.Popen[str], found: Any, timeout: float = 150.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = found()
        if got:
            return got
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()[1][-3000:]}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"no {what} in {timeout:g} s: {proc.communicate()[1][-3000:]}")


def test_a_killed_live_run_leaves_its_report_and_the_restart_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(CONFIG)
    report = tmp_path / "report"
    first = _start(tmp_path)

    def closed_in_report() -> dict[str, Any] | None:
        summary = _summary(report / "summary.json")
        return summary if summary and summary.get("closed_trades", 0) >= 2 else None

    interim = _wait("a summary with two closed trades", first, closed_in_report)
    first.kill()
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL

    kept = _summary(report / "summary.json")  # the killed run's last one, whole
    assert kept is not None and isinstance(kept.get("interim_at"), str), kept
    assert kept["closed_trades"] >= interim["closed_trades"]
    said = [note for note in kept["host_notes"] if "interim report" in note]
    assert len(said) == 1 and said[0].endswith(
        "it has the figures and trades so far, not the notes the final report adds when the "
        "run stops"
    ), said
    # the same summary as the final one's, its notes aside: which plugins ran, and so on
    assert "dtms" in kept["plugins"] and kept["defenders"] and kept["base_timeframe"] == "M5"
    rows = _closed_rows(report / "trades.csv")
    assert len(rows) == kept["closed_trades"]
    # every trade the report calls closed is one the account closed, at its price
    # (its partial closes and the positions opened to defend it, DTMS_HEDGE_<ticket>, too)
    history: dict[int, float] = {}
    with sqlite3.connect(tmp_path / "account.sqlite") as db:
        for ticket, comment, profit in db.execute("SELECT ticket, comment, profit FROM history"):
            prefix = next((p for p in RESERVED_COMMENTS if comment.startswith(p)), None)
            parent = int(comment[len(prefix) :]) if prefix else ticket
            history[parent] = history.get(parent, 0.0) + profit
    for row in rows:
        ticket = int(row["ticket"])
        assert ticket in history, row
        assert abs(float(row["profit"]) - history[ticket]) < 0.01, (row, history[ticket])

    second = _start(tmp_path)
    said = report / "summary.json.1"
    _wait("the killed run's report kept", second, lambda: _summary(said))
    second.send_signal(signal.SIGINT)
    out, err = second.communicate(timeout=120)
    assert "\nreport: report/summary.json and trades.csv in report/\n" in out, out[-2000:]
    assert "the run before did not stop cleanly" in err, err[-3000:]
    assert _summary(said) == kept
    assert _closed_rows(report / "trades.csv.1") == rows
    final = _summary(report / "summary.json")
    assert final is not None and "interim_at" not in final  # the stopped run's own report
    log = (report / "hostapp.log").read_text(encoding="utf-8")
    assert "the run before did not stop cleanly" in log


def test_a_run_killed_before_it_traded_left_its_report_and_its_mark(tmp_path: Path) -> None:
    """The report is written as the run starts, not first after a look's wait: a host
    killed within seconds of its start, again and again, left nothing, and its restart
    could neither say the run before did not stop cleanly nor name what it closed. The
    report holds where the account's history stood when the run began (the account had
    no deal yet: 0)."""
    (tmp_path / "plugins.toml").write_text(CONFIG)
    report = tmp_path / "report"
    first = _start(tmp_path)
    kept = _wait("a first report", first, lambda: _summary(report / "summary.json"))
    first.kill()
    first.communicate(timeout=60)
    assert isinstance(kept.get("interim_at"), str), kept
    with sqlite3.connect(tmp_path / "account.sqlite") as db:
        (login,) = db.execute("SELECT value FROM meta WHERE key = 'login'").fetchone()
    assert kept["account_history_mark"] == {"login": int(login), "last_deal": 0}, kept
    assert kept["carried_closed"] == [], kept
