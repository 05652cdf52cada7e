"""The SIGKILL drill, with real processes: ``hostapp run --live`` (local DTMS, the paper
broker on an account file, a 10 ms cycle) defending 100 open positions is killed with
SIGKILL at random points, over and over, and restarted on the same account and store.

At the end: every open position has a live record (the first start adopted them all:
the positions were opened on the account before any host ran); no action reached the
broker twice (each done close or partial close in the journals is one ``action`` deal in
the account's history, each done hedge one DTMS_HEDGE position); and the action history
holds every action the journals say was done exactly once.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from support.e2e_procs import command, stop, toml_config, wait_for

from dtms_plugin.store import Store
from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker
from hostapp.brokers.paper_rules import PaperSettings

POSITIONS = 100
KILLS = 10
DEALS = ("close", "partial_close")


def _quotes(account: Path) -> int:
    if not account.exists():
        return 0
    con = sqlite3.connect(account)
    try:
        return int(con.execute("SELECT count(*) FROM quotes").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def _open_positions(account: Path) -> None:
    broker = PaperBroker(settings=PaperSettings(account_file=str(account), balance=1e7))
    try:
        for i in range(POSITIONS):
            direction = "buy" if i % 2 else "sell"
            assert broker.open(OrderRequest("XAUUSD", direction, 0.02)).ok
    finally:
        broker.release()


def _journal(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for rec in records for e in rec.get("journal", [])]


def test_a_host_killed_mid_cycle_again_and_again_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    account, state = tmp_path / "account.db", tmp_path / "dtms"
    config = toml_config(
        tmp_path / "host.toml",
        symbols=["XAUUSD"],
        account_file=account,
        state_dir=state,
        # a ladder on a hair trigger, so that every run acts: stops, partial closes, hedges
        dtms={
            "strategy": "local",
            "thresholds.to_l1": -0.3,
            "thresholds.l1_recover": 0.3,
            "thresholds.to_l2": -0.8,
            "thresholds.l2_recover": -0.5,
            "thresholds.to_hedge": -1.5,
            # stops far away: the positions stay open to the end, defended all along
            "actions.tighten_r": 20.0,
            "trail.enabled": False,
        },
        host={"timeframe": "M5", "cycle_seconds": 0.01},
    )
    # DTMS alone acts on the positions: no strategy opening more, no exit manager
    config.write_text(config.read_text() + '[plugins]\ndisabled = ["sma_strategy", "exits"]\n')
    argv = [*command("hostapp"), "run", "--live", "--config", str(config),
            "--report", str(tmp_path / "report"), "--days", "3"]  # fmt: skip
    log, out = tmp_path / "report" / "hostapp.log", tmp_path / "host.out"

    def start() -> subprocess.Popen[str]:
        log.unlink(missing_ok=True)  # each run writes its own: never read the last one's
        with out.open("a") as sink:
            return subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, text=True)

    def recovered(proc: subprocess.Popen[str]) -> bool:
        assert proc.poll() is None, out.read_text()[-3000:]
        return log.exists() and "DTMS local engine:" in log.read_text()

    # a first run puts prices on the account; then 100 positions no host has seen
    first = start()
    wait_for(lambda: _quotes(account) or first.poll() is not None, timeout=60, what="a quote")
    first.send_signal(signal.SIGKILL)
    first.wait()
    _open_positions(account)

    rnd = random.Random(12)
    for _ in range(KILLS):
        proc = start()
        # mid-cycle: past its start-up (recovery and adoption done), then a random moment
        wait_for(lambda p=proc: recovered(p), timeout=60, what="the host's recovery")
        time.sleep(rnd.uniform(0.05, 1.0))
        assert proc.poll() is None, out.read_text()[-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = start()
    wait_for(lambda: recovered(final), timeout=60, what="the host's recovery")
    time.sleep(1.0)
    assert stop(final) in (0, 130), out.read_text()[-3000:]

    con = sqlite3.connect(account)
    try:
        open_tickets = {
            t for (t,) in con.execute("SELECT ticket FROM positions WHERE comment = ''")
        }
        action_deals = Counter(
            t for (t,) in con.execute("SELECT ticket FROM history WHERE reason = 'action'")
        )
        hedges = Counter(
            c.removeprefix("DTMS_HEDGE_")
            for (c,) in con.execute(
                "SELECT comment FROM positions WHERE comment LIKE 'DTMS_HEDGE_%' UNION ALL "
                "SELECT comment FROM history WHERE comment LIKE 'DTMS_HEDGE_%'"
            )
        )
    finally:
        con.close()

    with Store(state) as store:
        records = store.records()
        live = {t for t, r in records.items() if r["state"] != "CLOSED"}
        assert open_tickets <= live, sorted(open_tickets - live)
        # every position is still open and managed, or DTMS closed it (each restart goes
        # on where the account got, so the ladder runs its course on some of them)
        closed_by_dtms = {t for t in action_deals if t not in open_tickets}
        assert open_tickets | closed_by_dtms >= set(range(1, POSITIONS + 1))
        assert set(records) >= set(range(1, POSITIONS + 1))

        done: Counter[tuple[int, str]] = Counter()
        for ticket, rec in records.items():
            journal = _journal([rec, *store.archived(ticket)])
            keys = [e["key"] for e in journal]
            assert len(keys) == len(set(keys)), f"ticket {ticket}: a journal key twice"
            for entry in journal:
                assert entry["status"] in ("done", "failed", "pending", "unknown")
                if entry["status"] == "done":
                    done[ticket, entry["kind"]] += 1
            # the action history: every done entry once, nothing done twice
            history = [h for h in store.actions(ticket, limit=10_000) if h["type"] == "action"]
            ok = Counter(h["key"] for h in history if h["ok"])
            assert all(n == 1 for n in ok.values()), f"ticket {ticket}: {ok}"
            for entry in journal:
                if entry["status"] == "done":
                    assert ok[entry["key"]] == 1, f"ticket {ticket}: {entry['key']} not in history"
                if entry["status"] == "failed":
                    assert entry["key"] in {h["key"] for h in history if not h["ok"]}

        # journal vs the broker: each deal and hedge the account holds was done once
        for ticket in records:
            deals = sum(done[ticket, kind] for kind in DEALS)
            assert action_deals[ticket] == deals, (ticket, action_deals[ticket], deals)
            assert hedges[str(ticket)] == done[ticket, "hedge"], ticket
        kinds = Counter(kind for (_, kind), n in done.items() for _ in range(n))
    print(f"\ndrill: {KILLS} kills, {len(live)} live records, actions done: {dict(kinds)}")
    assert sum(kinds[k] for k in DEALS) > 0  # the drill sent deals across the kills
