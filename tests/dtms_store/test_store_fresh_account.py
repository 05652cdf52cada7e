"""A fresh paper account (the account file deleted, the DTMS folder kept) is not judged
by the old account's DTMS state (dtms_plugin/local_account_change.py, docs/dtms.md §8):
with real processes, a live host defends positions on one account file, the file is
deleted, and a host on the new file with the same state_dir says once which account the
store held, keeps the old records as archives, leaves the old account's defensive mode
behind and adopts the new account's positions; nothing is closed as gone."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.e2e_procs import command, stop, toml_config, wait_for

from dtms_plugin.store import Store
from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker
from hostapp.brokers.paper_rules import PaperSettings


def _login(account: Path) -> str:
    con = sqlite3.connect(account)
    try:
        return str(con.execute("SELECT value FROM meta WHERE key = 'login'").fetchone()[0])
    finally:
        con.close()


def _quoted(account: Path) -> bool:
    if not account.exists():
        return False
    con = sqlite3.connect(account)
    try:
        return bool(con.execute("SELECT count(*) FROM quotes").fetchone()[0])
    except sqlite3.Error:
        return False
    finally:
        con.close()


def _open(account: Path, directions: list[str]) -> None:
    broker = PaperBroker(settings=PaperSettings(account_file=str(account), balance=1e6))
    try:
        for direction in directions:
            assert broker.open(OrderRequest("XAUUSD", direction, 0.02)).ok  # type: ignore[arg-type]
    finally:
        broker.release()


def test_a_fresh_account_file_beside_a_kept_dtms_folder_starts_afresh(tmp_path: Path) -> None:
    account, state = tmp_path / "account.db", tmp_path / "dtms"
    config = toml_config(
        tmp_path / "host.toml", symbols=["XAUUSD"], account_file=account, state_dir=state,
        dtms={"strategy": "local"}, host={"timeframe": "M5", "cycle_seconds": 0.01},
    )  # fmt: skip
    config.write_text(config.read_text() + '[plugins]\ndisabled = ["sma_strategy", "exits"]\n')
    argv = [*command("hostapp"), "run", "--live", "--config", str(config),
            "--report", str(tmp_path / "report"), "--days", "3"]  # fmt: skip
    log, out = tmp_path / "report" / "hostapp.log", tmp_path / "host.out"

    logs: list[str] = []  # each run's log (each run writes its own)

    def start() -> subprocess.Popen[str]:
        if log.exists():
            logs.append(log.read_text())
            log.unlink()
        with out.open("a") as sink:
            return subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, text=True)

    def account_with(directions: list[str]) -> None:
        """A fresh account file with prices (a first run), then these positions."""
        first = start()
        wait_for(lambda: _quoted(account) or first.poll() is not None, timeout=60, what="quote")
        assert stop(first) in (0, 130), out.read_text()[-3000:]
        _open(account, directions)

    def run_once() -> str:
        proc = start()
        wait_for(
            lambda: (log.exists() and "DTMS local engine:" in log.read_text())
            or proc.poll() is not None,
            timeout=60, what="the host's recovery",
        )  # fmt: skip
        assert stop(proc) in (0, 130), out.read_text()[-3000:]
        return log.read_text()

    account_with(["buy", "sell", "buy"])
    old = _login(account)
    run_once()
    logs.clear()
    with Store(state) as store:  # the old account's rails had tripped
        assert set(store.records()) == {1, 2, 3}
        until = datetime.now(UTC) + timedelta(days=2)
        store.put_account_mode(until, "3 consecutive trades closed at their stop")

    for name in ("account.db", "account.db-wal", "account.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    account_with(["sell", "sell"])
    new = _login(account)
    assert new != old
    # the new account's first run (the one that priced it) found the store of the old
    last = run_once()
    text = "".join(logs) + last

    warnings = [line for line in text.splitlines() if "not of this account" in line]
    assert len(warnings) == 1, text[-3000:]
    assert f"account paper {old}, not of this account paper {new}" in warnings[0]
    assert "(open: 1, 2, 3)" in warnings[0], warnings
    assert "not_found" not in text and "gone at the broker" not in text, text[-3000:]
    with Store(state) as store:
        assert store.get_account_mode() is None
        records = store.records()
        assert set(records) == {1, 2}  # the new account's positions, adopted
        assert {r["direction"] for r in records.values()} == {"sell"}
        assert [a["direction"] for t in (1, 2, 3) for a in store.archived(t)] == [
            "buy", "sell", "buy",
        ]  # fmt: skip
        assert store.get_value("account") == {"identity": f"paper {new}", "login": int(new)}
