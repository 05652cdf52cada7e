"""``hostapp run`` end to end, in a real subprocess: the summary, the charts, and a clean
stop on SIGINT (shutdown hooks run, the partial report is written, exit code 130)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SRC = Path(__file__).resolve().parents[2]
CONFIG = """
[host]
symbols = ["XAUUSD", "EURUSD"]
timeframe = "M5"
cycle_seconds = 30
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HOSTAPP_LOAD_PLUGINS", None)
    env.pop("HOSTAPP_DISABLE_PLUGINS", None)
    return env


def test_hostapp_run_writes_summary_and_charts(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(CONFIG)
    report = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "3", "--report", str(report)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "100%" in proc.stderr  # the progress, as plain lines when not a terminal
    assert "trades opened" in proc.stdout and "max drawdown" in proc.stdout
    assert str(report) in proc.stdout  # where the report is
    summary = json.loads((report / "summary.json").read_text())
    for key in ("trades", "states_reached", "actions", "pnl", "max_drawdown"):
        assert key in summary
    assert summary["trades"] > 0  # the example strategy traded on the synthetic data
    assert summary["symbols"] == ["XAUUSD", "EURUSD"]
    assert summary["cycles"] == 3 * 288
    assert set(summary["states_reached"]) >= {"WARNING_L1", "WARNING_L2", "HEDGED"}
    assert summary["max_drawdown"] >= 0
    for symbol in ("XAUUSD", "EURUSD"):
        png = (report / f"{symbol}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 20_000


def test_same_seed_same_report(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(CONFIG)
    figures = []
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "hostapp.cli", "run", "--days", "2", "--report", "rep"],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            check=True,
            timeout=120,
        )
        summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
        figures.append({k: summary[k] for k in ("trades", "pnl", "actions", "states_reached")})
    assert figures[0] == figures[1]


# A host with one extra plugin that says when it started and leaves a file on shutdown,
# installed the way any third party's is: an entry point of a distribution on sys.path.
MARKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hookspecs import hookimpl

    class Marker:
        @hookimpl
        def startup(self):
            print("MARKER started", file=sys.stderr, flush=True)

        @hookimpl
        def shutdown(self):
            Path("shutdown-ran").write_text("yes")
    """
)


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    (tmp_path / "plugins.toml").write_text(CONFIG)
    (tmp_path / "marker_plugin.py").write_text(MARKER)
    dist = tmp_path / "marker_plugin-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: marker-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\nmarker = marker_plugin:Marker\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "run", "--report", "rep", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], needle: str, deadline: float = 60.0) -> list[str]:
    assert proc.stderr is not None
    seen: list[str] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.kill()
    pytest.fail(f"never saw {needle!r}; stderr so far: {''.join(seen)}")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--live",), "MARKER started"),  # paced by cycle_seconds: stopped while waiting
        (("--days", "150"), "run:  10%"),  # a long replay: stopped inside the hot loop
    ],
    ids=["live", "long-replay"],
)
def test_sigint_stops_cleanly(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    proc = _start(tmp_path, *args)
    _wait_for(proc, needle)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (tmp_path / "shutdown-ran").read_text() == "yes"
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert "Traceback" not in err
    assert "report:" in out


def test_a_stop_during_the_a_b_s_baseline_writes_no_a_b(tmp_path: Path) -> None:
    """``hostapp run`` replays, then runs its A/B of DTMS. A Ctrl-C while the A/B's run
    without DTMS runs: the run's own report stands; no A/B is written (it set that run
    beside itself as the run with DTMS: "DTMS changed nothing"), said so, exit 130."""
    proc = _start(tmp_path, "--days", "150")
    _wait_for(proc, "A/B:  10%")  # the A/B's first run: the one without DTMS
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (
        "hostapp: the A/B stopped during its first run (without dtms), before its run with dtms "
        "on the same entries: no comparison; no A/B written"
    ) in err
    assert "the report covers the run up to the stop" not in err  # the run ran through
    assert not (tmp_path / "rep" / "compare" / "summary.json").exists()
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is False and "compare" not in summary  # it ran through
    assert "Traceback" not in err
