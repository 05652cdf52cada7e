"""The notes under an A/B's and a sweep's table reach the terminal as written: rich read
the ``[host.paper.symbols.NAME]`` of the guessed-rules note as a style tag and printed
"(a  table in plugins.toml gives the real ones)", while summary.json had the words."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import ROOT, replay

from hostapp.market.synthetic import generate_bars

TABLE = (
    "(a [host.paper.symbols.NAME] table in plugins.toml gives the real ones: contract_size, "
    "volume_min, volume_step, volume_max, digits, spread)"
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gold's bars under a name the paper broker does not know: its rules are guessed,
    and the note says which table would give the real ones."""
    here = tmp_path_factory.mktemp("verbatim")
    shutil.copy(ROOT / "plugins.toml", here / "plugins.toml")
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 1500, seed=3)
    write_bars_csv(here / "GOLDX.csv", bars)
    return here


def test_the_ab_prints_a_note_with_brackets_as_written(folder: Path) -> None:
    proc = replay(folder, "GOLDX.csv", "--compare", "--report", "ab")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((folder / "ab" / "summary.json").read_text())
    (note,) = [n for n in summary["notes"] if "guessed the trading rules" in n]
    assert TABLE in note
    assert f"note: {note}" in proc.stdout


def test_a_sweep_prints_a_note_with_brackets_as_written(folder: Path) -> None:
    proc = replay(
        folder, "GOLDX.csv", "--compare", "--report", "sweep",
        "--sweep", "dtms.thresholds.to_l1=-3,-2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert TABLE in proc.stdout
    assert "note (the best row's runs): the paper broker does not know GOLDX" in proc.stdout


def test_a_swept_text_value_shows_as_typed() -> None:
    """A setting's value is text the user typed: ``[bold]x`` is not a style."""
    from rich.console import Console

    from hostapp.sweep_table import Row, _table

    row = Row((("mine.mode", "[bold]x"),), {"pairs": 3})
    console = Console(record=True, width=300)
    console.print(_table("t", "c", "rank", ["mine.mode"], [("1", row)]))
    assert "[bold]x" in console.export_text()
