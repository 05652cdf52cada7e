"""A ``--speed`` run killed (SIGKILL: no clean stop, no shutdown) in the weekend's gap of
its data resumes, started again, in the gap where its clock was, not at Friday's last
bar: the clock was kept in the account file only at a clean stop, so after a crash every
restart waited the whole 48 h gap again (README: it resumes where the clock was, also
after a crash). The run keeps it as it goes (hostapp/live_paper.py, ``keeping_clock``).

Real processes on the builtin data (XAUUSD: no bars from Friday 22:00 to Sunday 23:00,
2024-01-05 to 2024-01-07). A plugin, installed as any third party's is, kills its own
host at its first cycle in the gap after the account file holds a clock in the gap, or
at Monday's first cycle if none ever comes (what the host did before)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from hostapp.brokers.paper_account_reads import last_activity

FRIDAY_LAST = datetime(2024, 1, 5, 22, 0, tzinfo=UTC)  # the close of Friday's last bar
MONDAY = datetime(2024, 1, 7, 23, 0, tzinfo=UTC)  # the bars come back (Sunday evening)
RESUMED = re.compile(r"was last traded at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: the run resumes")

CRASH_IN_THE_GAP = textwrap.dedent(
    f"""
    import os, signal, sqlite3
    from datetime import datetime, UTC
    from hookspecs import hookimpl

    FRIDAY_LAST = datetime.fromisoformat("{FRIDAY_LAST.isoformat()}")
    MONDAY = datetime.fromisoformat("{MONDAY.isoformat()}")

    def kept_in_the_gap():
        db = sqlite3.connect("file:account.sqlite?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'run_clock'").fetchone()
        finally:
            db.close()
        return row is not None and float(row[0]) > FRIDAY_LAST.timestamp()

    class CrashInTheGap:
        @hookimpl
        def on_cycle(self, now):
            if now >= MONDAY or (now > FRIDAY_LAST and kept_in_the_gap()):
                os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _env(plugins: Path) -> dict[str, str]:
    plugins.mkdir(exist_ok=True)
    (plugins / "crash_in_the_gap.py").write_text(CRASH_IN_THE_GAP)
    dist = plugins / "crash_in_the_gap-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: crash-in-the-gap\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\ncrasher = crash_in_the_gap:CrashInTheGap\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return env


def _run(cwd: Path, env: dict[str, str], report: str) -> subprocess.CompletedProcess[str]:
    argv = ["run", "--live", "--speed", "10000", "--days", "10", "--report", report]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_run_killed_in_the_weekend_gap_resumes_in_it(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "account.sqlite"\n'
    )
    env = _env(tmp_path / "plugins")
    first = _run(tmp_path, env, "r1")
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    killed_at = last_activity(tmp_path / "account.sqlite")
    assert killed_at is not None and FRIDAY_LAST < killed_at < MONDAY, killed_at

    again = _run(tmp_path, env, "r2")
    found = RESUMED.search(again.stderr)
    assert found is not None, again.stderr[-3000:]
    assert found.group(1) == f"{killed_at:%Y-%m-%d %H:%M}"  # in the gap, not Friday 22:00
