"""A replay whose data ends before one bar of the timeframe it trades on was completed
(2 H1 bars run as H4) says so, naming the symbols and the timeframe: it finished with no
trade and no word of why, while 30 H1 bars run as D1 had the strategy's "had at most 1"."""

from __future__ import annotations

import json
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp

ROWS = [
    "2024-01-02 00:00,150.076,150.109,149.903,150.076",
    "2024-01-02 01:00,150.076,150.234,149.933,149.998",
    "2024-01-02 02:00,149.998,150.120,149.950,150.050",
    "2024-01-02 03:00,150.050,150.210,150.010,150.180",
    "2024-01-02 04:00,150.180,150.250,150.100,150.200",
]


def _notes(tmp_path: Path, files: dict[str, int], *args: str) -> list[str]:
    """The host's notes of a replay of ``files`` (symbol: how many of :data:`ROWS`)."""
    for symbol, rows in files.items():
        text = "time,open,high,low,close\n" + "\n".join(ROWS[:rows]) + "\n"
        (tmp_path / f"{symbol}.csv").write_text(text)
    proc = hostapp(tmp_path, "replay", *(f"{s}.csv" for s in files), *args, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["trades"] == 0
    notes: list[str] = summary["host_notes"]
    return notes


def test_a_replay_that_completed_no_bar_of_its_timeframe_says_so(tmp_path: Path) -> None:
    notes = _notes(tmp_path, {"USDJPY": 2}, "--timeframe", "H4")
    said = [n for n in notes if n.startswith("not one")]
    assert said == [
        "not one H4 bar of USDJPY was completed: the data's H1 bars end inside the first, "
        "so no strategy was asked for an order on it (more bars, or a finer --timeframe)"
    ]


def test_every_symbol_short_of_one_bar_is_named(tmp_path: Path) -> None:
    notes = _notes(tmp_path, {"EURUSD": 2, "GBPUSD": 3}, "--timeframe", "H4")
    (said,) = [n for n in notes if n.startswith("not one")]
    assert said.startswith("not one H4 bar of EURUSD, GBPUSD was completed: ")
    assert said.endswith("an order on them (more bars, or a finer --timeframe)")
    # an H4 bar completed (00:00 to 04:00), or bars traded as they are: nothing to say
    for args in (("--timeframe", "H4"), ("--timeframe", "H1")):
        notes = _notes(tmp_path, {"EURUSD": 5, "USDJPY": 5}, *args)
        assert [n for n in notes if n.startswith("not one")] == []
