"""``[host] symbols`` and a ``[host] data`` table name the same symbols: the run trades
the table's symbols, so a symbol the table leaves out would not trade, and one it adds
would trade unasked, each without a word. A file that does not write ``symbols`` lets the
table decide (a ``GOLD`` file runs as GOLD)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)


def _hostapp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    return line


@pytest.mark.parametrize("command", ["run", "live", "plugins"])
def test_a_symbol_without_a_csv_file_is_one_line_naming_it(tmp_path: Path, command: str) -> None:
    """``hostapp plugins`` says it too: it checks the file as ``hostapp run`` would."""
    write_bars_csv(tmp_path / "gold.csv", generate_bars("XAUUSD", START, 300, seed=5))
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD", "EURUSD"]\ndata = { XAUUSD = "gold.csv" }\n'
    )
    args = {
        "run": ("run", "--report", "out"),
        "live": ("run", "--live", "--speed", "100000", "--report", "out"),
        "plugins": ("plugins",),
    }[command]
    line = _one_line(_hostapp(tmp_path, *args))
    assert line == (
        "hostapp: plugins.toml [host] key 'data': no CSV file for 'EURUSD', which [host] "
        'symbols names (add EURUSD = "….csv" to data, or take it out of symbols)'
    )
    assert not (tmp_path / "out").exists() and not (tmp_path / ".hostapp").exists()


@pytest.mark.parametrize("command", ["run", "plugins"])
def test_a_csv_file_of_a_symbol_not_named_is_one_line_naming_it(
    tmp_path: Path, command: str
) -> None:
    write_bars_csv(tmp_path / "gold.csv", generate_bars("XAUUSD", START, 300, seed=5))
    write_bars_csv(tmp_path / "eur.csv", generate_bars("EURUSD", START, 300, seed=6))
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\ndata = { XAUUSD = "gold.csv", EURUSD = "eur.csv" }\n'
    )
    args = ("run", "--report", "out") if command == "run" else ("plugins",)
    line = _one_line(_hostapp(tmp_path, *args))
    assert line == (
        "hostapp: plugins.toml [host] key 'data': a CSV file for 'EURUSD', which [host] "
        "symbols does not name (add it to symbols, or take it out of data)"
    )


def test_without_symbols_the_data_table_decides(tmp_path: Path) -> None:
    write_bars_csv(tmp_path / "gold.csv", generate_bars("XAUUSD", START, 300, seed=5))
    write_bars_csv(tmp_path / "eur.csv", generate_bars("EURUSD", START, 300, seed=6))
    (tmp_path / "plugins.toml").write_text(
        '[host]\ndata = { XAUUSD = "gold.csv", EURUSD = "eur.csv" }\n'
    )
    proc = _hostapp(tmp_path, "run", "--no-compare", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["symbols"] == ["XAUUSD", "EURUSD"]
