"""``hostapp run`` logs, in a real subprocess: ``--log-json`` writes one JSON object per
line to ``<report>/hostapp.log`` with each event's fields (ticket, symbol…); without it
the lines are the human format of :mod:`hostapp.logs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIG = """
[host]
symbols = ["XAUUSD", "EURUSD"]
timeframe = "M5"
"""


def _run(tmp_path: Path, *args: str) -> tuple[Path, str]:
    """The run's log file, and what it wrote on stderr."""
    (tmp_path / "plugins.toml").write_text(CONFIG)
    env = dict(os.environ)
    env.pop("HOSTAPP_LOAD_PLUGINS", None)
    env.pop("HOSTAPP_DISABLE_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "2", "--report", "rep", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "rep" / "hostapp.log", proc.stderr


def test_log_json_lines_carry_the_event_fields(tmp_path: Path) -> None:
    lines = _run(tmp_path, "--log-json")[0].read_text(encoding="utf-8").splitlines()
    assert lines
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    assert any(r["message"].startswith("DTMS strategy: local") for r in records)
    events = [r for r in records if r.get("event") in ("transition", "action")]
    assert events, "a two-day run manages trades"
    for event in events:
        assert isinstance(event["ticket"], int)
        assert f"ticket {event['ticket']}" in event["message"]
    with_symbol = [e for e in events if e.get("symbol") in ("XAUUSD", "EURUSD")]
    assert with_symbol, events[:5]
    actions = [e for e in events if e["event"] == "action"]
    assert all({"kind", "ok", "code"} <= a.keys() for a in actions)
    # each transition once: the host's event, not a second INFO line from DTMS itself
    changes = [e for e in events if e["event"] == "transition"]
    assert changes
    again = [r for r in records if r["logger"].startswith("dtms") and "→" in r["message"]]
    assert again == [], again[:3]


def test_human_lines_by_default(tmp_path: Path) -> None:
    log, stderr = _run(tmp_path)
    lines = log.read_text(encoding="utf-8").splitlines()
    strategy = [line for line in lines if "DTMS strategy: local" in line]
    assert strategy and " INFO dtms_plugin: DTMS strategy: local" in strategy[0]
    assert not lines[0].startswith("{")
    assert "run:  50% (" in stderr  # the progress, plain


def test_log_json_makes_the_progress_on_stderr_json_lines_too(tmp_path: Path) -> None:
    """A collector reading stderr as JSON lines once met plain progress lines there."""
    _, stderr = _run(tmp_path, "--log-json")
    records = [json.loads(line) for line in stderr.splitlines()]  # every line
    progress = [r for r in records if r.get("event") == "progress"]
    bars = [r for r in progress if r["unit"] == "bars"]
    assert bars and bars[-1]["done"] == bars[-1]["total"] > 0
    assert bars[0]["logger"] == "hostapp.progress"
    assert bars[0]["message"].startswith("run:   0% (1/")
    runs = [r for r in progress if r["unit"] == "runs"]  # the A/B's, after the run
    assert runs and runs[-1]["done"] == runs[-1]["total"] == 2
