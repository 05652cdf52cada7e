"""A paper live run restarted on its account file resumes on the data the account was
traded on, or not at all: on another seed or other CSV bars it would settle the account's
positions at the other data's prices (a stop at 2143.44 filled at 2373.41, every
position closed at once), with only "resumes the data from there" said."""

from __future__ import annotations

import os
import re
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
    written = (tmp_path / "XAUUSD.csv").read_text().replace("Z,", ",").replace("+00:00,", ",")
    lines = written.splitlines(keepends=True)  # times without an offset: data_tz's to place
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


def test_a_restart_reading_the_files_on_another_clock_names_data_tz(tmp_path: Path) -> None:
    """``[host] data_tz`` set after the account traded moves every bar by hours: refused
    as other data, which it is, but the refusal blamed the files ("give the same files"),
    which had not changed. It names the setting."""
    bars_folder(tmp_path, bars=1500, seed=9)
    _csv_config(tmp_path)
    written = (tmp_path / "XAUUSD.csv").read_text().replace("Z,", ",")
    lines = written.splitlines(keepends=True)  # times without an offset: data_tz's to place
    (tmp_path / "XAUUSD.csv").write_text("".join(lines[:1200]))
    first = _run(tmp_path, "r1")
    assert first.returncode == 0, first.stderr[-2000:]
    (tmp_path / "XAUUSD.csv").write_text("".join(lines))  # grown: a resume but for the clock
    text = (tmp_path / "plugins.toml").read_text()
    text = text.replace("data = { XAUUSD", 'data_tz = "Europe/Athens"\ndata = { XAUUSD')
    (tmp_path / "plugins.toml").write_text(text)
    moved = _run(tmp_path, "r2")
    assert moved.returncode == 2, moved.stderr[-2000:]
    assert _last_line(moved).endswith(
        "; this run reads the files' times on data_tz Europe/Athens, the account traded "
        "them read on no data_tz (UTC, or the layout's own): give [host] data_tz back, or "
        "delete the file for a fresh account (README): other data would settle its "
        "positions at other prices"
    ), _last_line(moved)


def test_a_symbol_taken_out_of_symbols_with_a_trade_open_stays_priced(tmp_path: Path) -> None:
    """EURUSD taken out of ``[host] symbols`` while ticket 70 is open on it: the host
    keeps feeding it, so the paper broker checks its stop and target (unfed, they never
    were), says so at start-up, and opens no new trade on it."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    assert _run(tmp_path, "r1", "--days", "1").returncode == 0
    con = sqlite3.connect(tmp_path / ACCOUNT)
    with con:
        (bid, when) = con.execute("SELECT bid, time FROM quotes WHERE symbol = 'EURUSD'").fetchone()
        con.execute(  # a buy whose stop or target a day of EURUSD reaches
            "INSERT INTO positions VALUES (70, 'EURUSD', 'buy', 0.1, ?, ?, ?, ?, 0, '')",
            (bid, bid - 0.0004, bid + 0.0004, when - 600),
        )
        con.execute("UPDATE meta SET value = '70' WHERE key = 'last_ticket'")
    con.close()
    text = (tmp_path / "plugins.toml").read_text()
    (tmp_path / "plugins.toml").write_text(
        text.replace('symbols = ["XAUUSD", "EURUSD"]', 'symbols = ["XAUUSD"]')
    )

    second = _run(tmp_path, "r2", "--days", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    # the first run may have left a EURUSD trade of its own open beside ticket 70
    said = re.compile(
        r"EURUSD is not in \[host\] symbols but (ticket 70 is|tickets [\d, ]*70 are) open "
        r"on it: priced and defended until it closes; add it back to trade it"
    )
    assert [line for line in second.stderr.splitlines() if said.fullmatch(line[9:])]
    assert said.search((tmp_path / "r2" / "hostapp.log").read_text())
    con = sqlite3.connect(tmp_path / ACCOUNT)
    try:
        assert con.execute("SELECT count(*) FROM positions WHERE ticket = 70").fetchone()[0] == 0
        (reason,) = con.execute("SELECT reason FROM history WHERE ticket = 70").fetchone()
        assert reason in {"sl", "tp", "stop_loss", "take_profit"}, reason
        new = "SELECT count(*) FROM {} WHERE symbol = 'EURUSD' AND ticket > 70"
        assert con.execute(new.format("history")).fetchone()[0] == 0
        assert con.execute(new.format("positions")).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM history WHERE ticket > 70").fetchone()[0] > 0
    finally:
        con.close()


def test_csv_symbol_taken_out_then_back_names_the_unpriced_trade_and_its_gap(
    tmp_path: Path,
) -> None:
    """With CSV data the host has no bars of a symbol ``[host] data`` no longer names: the
    open trade on it is named as not priced; added back, the bars it missed are named,
    since its stop was never checked over them."""
    from datetime import UTC, datetime

    from hostapp_loop.csvfiles import write_bars_csv

    from hostapp.market.synthetic import generate_bars

    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    start = datetime(2024, 3, 4, tzinfo=UTC)
    bars = {s: generate_bars(s, start, 3000, seed=2) for s in ("XAUUSD", "EURUSD")}
    text = (tmp_path / "plugins.toml").read_text()
    both = text.replace('data = "builtin"', 'data = { XAUUSD = "X.csv", EURUSD = "E.csv" }')
    gold = both.replace('symbols = ["XAUUSD", "EURUSD"]', 'symbols = ["XAUUSD"]')
    gold = gold.replace(', EURUSD = "E.csv"', "")

    def data(count: int, config: str) -> None:
        write_bars_csv(tmp_path / "X.csv", bars["XAUUSD"][:count])
        write_bars_csv(tmp_path / "E.csv", bars["EURUSD"][:count])
        (tmp_path / "plugins.toml").write_text(config)

    data(1200, both)
    assert _run(tmp_path, "r1").returncode == 0
    con = sqlite3.connect(tmp_path / ACCOUNT)
    with con:
        (bid, when) = con.execute("SELECT bid, time FROM quotes WHERE symbol = 'EURUSD'").fetchone()
        con.execute(  # far stops: it stays open
            "INSERT INTO positions VALUES (70, 'EURUSD', 'buy', 0.1, ?, ?, NULL, ?, 0, '')",
            (bid, bid / 2, when - 600),
        )
        con.execute("UPDATE meta SET value = '70' WHERE key = 'last_ticket'")
    con.close()

    data(2000, gold)
    out = _run(tmp_path, "r2")
    assert out.returncode == 0, out.stderr[-2000:]
    unpriced = re.compile(
        r"hostapp: EURUSD is not in \[host\] symbols and this run has no bars for it, but "
        r"(ticket 70 is|tickets [\d, ]*70 are) open on it: not priced \(its stop and target "
        r"are not checked, DTMS cannot defend it\) until it is added back with its data"
    )
    assert [line for line in out.stderr.splitlines() if unpriced.fullmatch(line)], out.stderr

    data(2400, both)
    back = _run(tmp_path, "r3")
    assert back.returncode == 0, back.stderr[-2000:]
    gap = [line for line in back.stderr.splitlines() if "were not played" in line]
    assert len(gap) == 1, back.stderr[-2000:]
    assert re.fullmatch(
        re.escape(
            f"hostapp: EURUSD's 800 bar(s) from {bars['EURUSD'][1200].time:%Y-%m-%d %H:%M} "
            f"to {bars['EURUSD'][2000].time:%Y-%m-%d %H:%M} were not played while "
        )
        + r"(ticket 70 is|tickets [\d, ]*70 are)"
        + re.escape(
            " open on it (out of [host] symbols): its stop and target were not checked "
            "over them; they are checked again from the next bar"
        ),
        gap[0],
    ), gap[0]


def test_a_csv_bar_the_account_never_traded_may_change_its_last_bar_may_not() -> None:
    """A MetaTrader export's last bar, still forming when the account file recorded the
    data, is another bar in the next export: past where the account stopped, it settles
    no position, so the resume goes on; up to there, other prices are refused."""
    from datetime import UTC, datetime, timedelta

    from hookspecs import Bar
    from hostapp.account_data import difference

    start = datetime(2024, 1, 2, tzinfo=UTC)
    bars = [Bar(start + timedelta(minutes=5 * i), 1.1, 1.2, 1.0, 1.15) for i in range(100)]
    kept = {"data": "csv", "symbols": {"EURUSD": {"files": ["e.csv"]}}}
    told = kept["symbols"]["EURUSD"]  # type: ignore[index]
    told["first"] = [bars[0].time.isoformat(), 1.1, 1.2, 1.0, 1.15]
    told["last"] = [bars[-1].time.isoformat(), 1.1, 1.2, 1.0, 1.16]  # formed since
    run = {"data": "csv", "symbols": {"EURUSD": {"files": ["e.csv"]}}}
    series = {"EURUSD": bars}
    assert difference(kept, run, series, since=bars[50].time) is None
    refused = difference(kept, run, series, since=bars[-1].time + timedelta(minutes=5))
    assert refused is not None and "lack its last bar then" in refused
