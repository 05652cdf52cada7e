"""After a fresh paper account (the account file deleted, the DTMS folder kept), the new
account's trades are written to the store: with real processes, two ``hostapp run --live
--speed`` runs on one state_dir, the account file deleted between them.

The second run archived the first account's records and went on registering and
defending its own trades, but wrote none of them: the strategy had put a new, empty book
in place of the one its pending writes read, so the store kept nothing of the new
account (a third run loaded 0 records, and only the account's ledger knew its open
trades)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.e2e_procs import command, toml_config

from dtms_plugin.store import Store


def test_the_new_accounts_trades_are_written_after_the_old_ones_are_archived(
    tmp_path: Path,
) -> None:
    account, state, report = tmp_path / "account.db", tmp_path / "dtms", tmp_path / "report"
    config = toml_config(
        tmp_path / "host.toml", symbols=["XAUUSD", "EURUSD"], account_file=account,
        state_dir=state, dtms={"strategy": "local"}, host={"timeframe": "M5"},
    )  # fmt: skip
    argv = [*command("hostapp"), "run", "--live", "--speed", "1000000", "--config",
            str(config), "--report", str(report), "--days", "5"]  # fmt: skip
    registered: list[set[int]] = []
    for n in range(3):
        if n == 1:
            account.unlink()  # a fresh account, the DTMS folder kept
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        log = (report / "hostapp.log").read_text()
        registered.append({int(t) for t in re.findall(r"DTMS registered (\d+) ", log)})
        loaded = [int(x) for x in re.findall(r"DTMS local engine: (\d+) records loaded", log)]
        with Store(state) as store:
            kept = set(store.records())
        if n == 0:
            assert registered[0] and kept == registered[0] and loaded == [0]
        elif n == 1:
            assert "are kept as archives" in log
            assert registered[1] and kept == registered[1] and loaded == [0]
        else:  # the same account again, its data played: it loads what the last run wrote
            assert loaded == [len(registered[1])] and kept == registered[1]
