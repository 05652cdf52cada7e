"""The symbol a replay trades, from a file's name or ``--symbol``, is a name brokers,
plugins and reports show: one that is no printable text is refused before the replay,
in one line naming the file (a file name in another encoding than the system's once
failed in the charts after the replay, with its results lost)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)


def _gold(path: Path, count: int = 400) -> Path:
    return write_bars_csv(path, generate_bars("XAUUSD", START, count, seed=5))


def test_a_file_name_that_is_not_utf8_is_refused_naming_its_bytes(tmp_path: Path) -> None:
    name = os.fsdecode(b"X\xffAUUSD.csv")  # Latin-1's ÿ, on a UTF-8 system
    _gold(tmp_path / name)
    proc = hostapp(tmp_path, "replay", "--report", "rm", name)
    assert one_error_line(proc) == (
        "hostapp: X\\xffAUUSD.csv: the file's name is not UTF-8 text, so it names no symbol: "
        "give the symbol with --symbol NAME, or rename the file"
    )
    assert not (tmp_path / "rm" / "summary.json").exists()


def test_a_control_character_in_a_file_name_is_shown_escaped_on_one_line(
    tmp_path: Path,
) -> None:
    _gold(tmp_path / "X\nAUUSD.csv")
    proc = hostapp(tmp_path, "replay", "--report", "rm", "X\nAUUSD.csv")
    assert one_error_line(proc).startswith(
        "hostapp: X\\nAUUSD.csv: the symbol its name gives, 'X\\nAUUSD', holds characters "
        "that cannot be printed: "
    )


def test_such_a_file_replays_under_symbol(tmp_path: Path) -> None:
    name = os.fsdecode(b"X\xffAUUSD.csv")
    _gold(tmp_path / name)
    proc = hostapp(tmp_path, "replay", "--report", "rm", "--symbol", "XAUUSD", name)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "rm" / "summary.json").read_text())["charts"] == ["XAUUSD.png"]


def test_an_empty_file_name_is_named_as_such(tmp_path: Path) -> None:
    """It was read as the working folder: 'hostapp: : cannot read the file: Is a
    directory'."""
    _gold(tmp_path / "XAUUSD.csv")
    proc = hostapp(tmp_path, "replay", "--report", "rm", "XAUUSD.csv", "")
    assert one_error_line(proc) == (
        "hostapp: replay: an empty file name ('') among the files: name a bar file"
    )


@pytest.mark.parametrize("symbol", ["", "XAU USD", " XAUUSD", "ЗОЛОТО", "X" * 65])
def test_symbol_takes_what_brokers_and_the_dtms_api_take(tmp_path: Path, symbol: str) -> None:
    """An empty one fell back to the files' names without a word, and one with a space
    was replayed although the DTMS API refuses it."""
    _gold(tmp_path / "XAUUSD.csv")
    proc = hostapp(tmp_path, "replay", "--report", "rm", "--symbol", symbol, "XAUUSD.csv")
    assert one_error_line(proc) == (
        f"hostapp: --symbol {symbol!r}: expected a symbol name of 1 to 64 printable ASCII "
        "characters without spaces (as brokers and the DTMS API take them)"
    )
    assert not (tmp_path / "rm").exists()
