"""A paper live run restarted on its account file resumes on the data the account was
traded on, or not at all: on another seed or other CSV bars it would settle the account's
positions at the other data's prices (a stop at 2143.44 filled at 2373.41, every
position closed at once), with only "resumes the data from there" said."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def _run(cwd: Path, report: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    argv = ["run", "--live", "--speed", "100000", "--report", report, *args]
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stderr.strip().splitlines()[-1]


def test_a_restart_on_another_seed_is_refused_naming_both(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    first = _run(tmp_path, "r1", "--days", "1", "--seed", "5")
    assert first.returncode == 0, first.stderr[-2000:]

    unseeded = _run(tmp_path, "r2", "--days", "2")  # the README's command has no --seed
    assert unseeded.returncode == 2, unseeded.stderr[-2000:]
    assert _last_line(unseeded) == (
        f"hostapp: plugins.toml [host.paper] account_file {ACCOUNT} was traded on the "
        "built-in feed with seed 5 (M5 bars); this run asks seed 0: give --seed 5, or "
        "delete the file for a fresh account (README): other data would settle its "
        "positions at other prices"
    )
    assert "resumes" not in unseeded.stderr

    same = _run(tmp_path, "r3", "--days", "2", "--seed", "5")
    assert same.returncode == 0, same.stderr[-2000:]
    assert "the run resumes the data from there" in same.stderr
    assert "does not say which data" not in same.stderr


def test_an_older_account_file_resumes_and_gets_its_record(tmp_path: Path) -> None:
    """A file from a version that kept no record resumes as before, said once."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    assert _run(tmp_path, "r1", "--days", "1").returncode == 0
    con = sqlite3.connect(tmp_path / ACCOUNT)
    with con:
        con.execute("DELETE FROM meta WHERE key = 'traded_on'")
    con.close()

    older = _run(tmp_path, "r2", "--days", "2", "--seed", "3")
    assert older.returncode == 0, older.stderr[-2000:]
    assert (
        f"hostapp: plugins.toml [host.paper] account_file {ACCOUNT} does not say which data "
        "it was traded on (an older version's): it resumes on the built-in feed with seed 3 "
        "(M5 bars), which it now records; a restart on other data will be refused"
    ) in older.stderr

    again = _run(tmp_path, "r3", "--days", "3", "--seed", "3")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "does not say which data" not in again.stderr
    refused = _run(tmp_path, "r4", "--days", "4")
    assert refused.returncode == 2 and "traded on the built-in feed with seed 3" in refused.stderr


def _csv_config(folder: Path) -> None:
    text = (folder / "plugins.toml").read_text()
    text = text.replace('symbols = ["XAUUSD", "EURUSD"]', 'symbols = ["XAUUSD"]')
    text = text.replace('data = "builtin"', 'data = { XAUUSD = "XAUUSD.csv" }')
    (folder / "plugins.toml").write_text(text)


def test_csv_data_that_grew_resumes_and_other_bars_are_refused(tmp_path: Path) -> None:
    bars_folder(tmp_path, bars=1500, seed=9)
    _csv_config(tmp_path)
    lines = (tmp_path / "XAUUSD.csv").read_text().splitlines(keepends=True)
    (tmp_path / "XAUUSD.csv").write_text("".join(lines[:1200]))
    first = _run(tmp_path, "r1")
    assert first.returncode == 0, first.stderr[-2000:]

    (tmp_path / "XAUUSD.csv").write_text("".join(lines))  # grown at its end: a resume
    grown = _run(tmp_path, "r2")
    assert grown.returncode == 0, grown.stderr[-2000:]
    assert "the run resumes the data from there" in grown.stderr

    bars_folder(tmp_path, bars=3000, seed=4, config=False)  # other prices, same name
    other = _run(tmp_path, "r3")
    assert other.returncode == 2, other.stderr[-2000:]
    line = _last_line(other)
    assert line.startswith(
        f"hostapp: plugins.toml [host.paper] account_file {ACCOUNT} was traded on the CSV "
        f"data {(tmp_path / 'XAUUSD.csv').resolve()}; this run's XAUUSD bars"
    ), line
    assert "give the same files (a file that grew at its end resumes)" in line

