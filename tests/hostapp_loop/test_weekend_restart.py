"""A ``--speed`` run stopped during the weekend's gap in the data resumes, started again,
where its clock was, not at Friday's last quote: resumed from the quote, every restart
waited the whole 48 h gap again, and a host restarted more often than that never reached
Monday. A bar the stopped run had not played yet is still played by the next one.

Real processes on the builtin data (XAUUSD: no bars from Friday 22:00 to Sunday 23:00,
2024-01-05 to 2024-01-07). A plugin, installed as any third party's is, interrupts its
own host (SIGINT, as Ctrl-C does) at its first cycle on a Saturday: a cycle without bars
of the gap, so the stop lands there on any machine that keeps within the gap of the
run's pace (:data:`SPEED`)."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp.app import build_sim_app
from hostapp.brokers.paper_account_reads import last_activity
from hostapp.config import config_from_dict
from hostapp.live_paper import keep_clock
from hostapp.testing import bars_from_closes

STOP_ON_SATURDAY = textwrap.dedent(
    """
    import os, signal
    from hookspecs import hookimpl

    class StopOnSaturday:
        said = False

        @hookimpl
        def on_cycle(self, now):
            if now.weekday() == 5 and not self.said:
                self.said = True
                os.kill(os.getpid(), signal.SIGINT)
    """
)
FRIDAY_LAST = datetime(2024, 1, 5, 22, 0, tzinfo=UTC)  # the close of Friday's last bar
MONDAY = datetime(2024, 1, 7, 23, 0, tzinfo=UTC)  # the bars come back (Sunday evening)
M5 = timedelta(minutes=5)
#: The pace of the runs. A run that falls behind its clock catches up, one cycle a bar and
#: none between (hostapp/loop_drivers.py): more than the weekend's 47 h of data behind
#: at Friday's last bar, it plays Monday's first at once and never has a Saturday cycle.
#: At --speed 50000 that was 3.4 s behind after the ~400 paced bars (history is caught up
#: at once): 14 ms a cycle, which a loaded machine took. Here: 17 s, or 70 ms a cycle.
SPEED = "10000"
RESUMED = re.compile(r"was last traded at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: the run resumes")


def _env(plugins: Path) -> dict[str, str]:
    plugins.mkdir(exist_ok=True)
    (plugins / "stop_on_saturday.py").write_text(STOP_ON_SATURDAY)
    dist = plugins / "stop_on_saturday-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: stop-on-saturday\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\nstopper = stop_on_saturday:StopOnSaturday\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return env


def _run(cwd: Path, env: dict[str, str], report: str) -> subprocess.CompletedProcess[str]:
    argv = ["run", "--live", "--speed", SPEED, "--days", "10", "--report", report]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_run_stopped_in_the_weekend_gap_resumes_in_it(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "account.sqlite"\n'
    )
    env = _env(tmp_path / "plugins")
    first = _run(tmp_path, env, "r1")
    assert first.returncode == 130, first.stderr[-3000:]  # stopped on Saturday
    stopped_at = last_activity(tmp_path / "account.sqlite")
    assert stopped_at is not None and FRIDAY_LAST < stopped_at < MONDAY, stopped_at

    again = _run(tmp_path, env, "r2")
    assert again.returncode == 130, again.stderr[-3000:]  # its first cycle: Saturday again
    found = RESUMED.search(again.stderr)
    assert found is not None, again.stderr[-3000:]
    assert found.group(1) == f"{stopped_at:%Y-%m-%d %H:%M}"  # in the gap, not Friday 22:00
    assert (last_activity(tmp_path / "account.sqlite") or stopped_at) >= stopped_at

    with sqlite3.connect(tmp_path / "account.sqlite") as db:
        backwards = db.execute("SELECT count(*) FROM history WHERE closed_at < opened_at")
        assert backwards.fetchone()[0] == 0
        (last_bar,) = db.execute("SELECT max(time) FROM bars").fetchone()
    # no bar after Friday's was skipped: the newest bar fed is still Friday's last one
    assert datetime.fromtimestamp(last_bar, UTC) < FRIDAY_LAST


def _stopped_app(tmp_path: Path, name: str, clock_at: datetime) -> Path:
    """A paper live app on ``name`` (an account file) whose feed played up to Friday's
    last bar, its clock then at ``clock_at``; kept as a run's end keeps it."""
    friday = bars_from_closes([2000.0 + i % 5 for i in range(12)], start=FRIDAY_LAST - 12 * M5)
    monday = bars_from_closes([2001.0 + i % 5 for i in range(12)], start=MONDAY)
    account = tmp_path / name
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"], "paper": {"account_file": str(account)}}},
        path=tmp_path / "plugins.toml",
    )
    config = dataclasses.replace(config, data_root=tmp_path)
    app = build_sim_app(
        config, {"XAUUSD": friday + monday}, base_timeframe="M5", shared_account=True,
        speed=1000.0, entry_points=[], env={},
    )  # fmt: skip
    assert app.feed is not None
    for bar in friday:  # played: each step's bar reached the broker
        app.feed.advance(bar.time + M5)
        app.broker.on_bar("XAUUSD", bar)  # type: ignore[attr-defined]
    app.clock.set(clock_at)  # type: ignore[attr-defined]
    keep_clock(app)
    app.broker.release()  # type: ignore[attr-defined]
    return account


def test_the_clock_is_kept_only_before_a_bar_the_run_has_not_played(tmp_path: Path) -> None:
    saturday = datetime(2024, 1, 6, 9, 30, tzinfo=UTC)
    assert last_activity(_stopped_app(tmp_path, "gap.sqlite", saturday)) == saturday
    # The clock ran past Monday's first bar while the plugins shut down, before the loop
    # played it: resuming after it would skip that bar's stops and targets.
    past = MONDAY + 3 * M5
    assert last_activity(_stopped_app(tmp_path, "past.sqlite", past)) == FRIDAY_LAST
