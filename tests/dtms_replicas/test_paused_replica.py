"""A replica paused past its lease (SIGSTOP) in the middle of a cycle, then resumed
(SIGCONT), with real processes on one redis-server and one paper account.

It is stopped right after it logged its first trailing-stop move of a new bar, so it
still has most of that bar's moves to make. Meanwhile the other replica takes its trades
over (after the lease) and makes those moves. When it resumes, its next broker call first
renews the lease, finds it gone and logs it, and sends nothing; every write it goes on
with is refused (by the lease, or by the record's version, which the new owner moved on
when it took the trade). No action is done twice and the broker's stops are the
journal's, but for the one call that may have been in flight at the pause.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from support.e2e_procs import account_position, wait_for
from support.redis_server import RedisServer
from support.replica_procs import (
    SYMBOL,
    WARMUP,
    open_positions,
    push_bars,
    register,
    replica_config,
    replicas,
    zigzag,
)

from dtms_plugin.store.redis_store import RedisStore

N = 100
LEASE = 2.0
MONITOR = 0.05


@pytest.mark.xfail(
    reason="known defect, open: when the pause falls between a broker call and the flush of"
    " its 'done' entry, the replica taking over re-plans and re-sends that bar's trailing"
    " move (an action done twice); docs/scaling.md",
    strict=False,
)
def test_a_paused_replica_cannot_write_after_its_lease(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    account = tmp_path / "account.db"
    tickets = open_positions(account, N)
    config = replica_config(tmp_path, account, redis_server.url(), lease_seconds=LEASE)
    store = RedisStore(redis_server.url())
    with replicas(config, tmp_path, 2, monitor_seconds=MONITOR) as (paused, other):
        for i, ticket in enumerate(tickets):
            assert register((paused, other)[i % 2].server.url, ticket).status_code == 201
        bar = WARMUP

        def stamped(at: object) -> bool:
            states = [store.get_state(t) for t in tickets]
            return all(s is not None and s[1] >= at for s in states)

        for _ in range(4):  # armed after 3 fast bars: trailing from then on
            push_bars(account, zigzag(1, first=bar))
            wait_for(lambda b=bar: stamped(zigzag(1, first=b)[0].time), timeout=120, what="a bar")
            bar += 1
        held = {t for t, o in zip(tickets, _owners(store, tickets), strict=True)
                if o == paused.id}  # fmt: skip
        assert held

        def moves(log: Path) -> int:
            return len(re.findall(r" INFO [\w.]+: action \w+ on ticket ", log.read_text()))

        before = moves(paused.server.log)
        push_bars(account, zigzag(1, first=bar))
        wait_for(lambda: moves(paused.server.log) > before, timeout=60, what="a move", every=0.005)
        paused.server.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: set(_owners(store, tickets)) == {other.id}, timeout=60,
                     what="the other replica holding every trade")  # fmt: skip
            new_bar = zigzag(1, first=bar)[0].time
            wait_for(lambda: stamped(new_bar), timeout=120, what="the bar done by the other")
        finally:
            paused.server.proc.send_signal(signal.SIGCONT)
        log = paused.server.log
        wait_for(lambda: "lost the lease" in log.read_text(), timeout=60, what="the lost lease")
        status = paused.server.json("/dtms/status")
        mine = [r for r in status["replicas"] if r["self"]]
        assert mine and mine[0]["trades"] == 0, status["replicas"]
        text = log.read_text()
        # what it went on with is refused: by the lease it renews before a broker call, or
        # by the version the new owner's takeover moved on (tests/dtms_store show both)
        by_version = re.findall(r"refused: the record of ticket (\d+) is at version", text)
        by_lease = re.findall(r"ticket (\d+): this replica does not hold its lease", text)
        refused = {int(t) for t in by_version + by_lease}
        print(f"\n{len(held)} trades held when paused; stale writes refused: {len(by_version)}"
              f" by version, {len(by_lease)} by lease")  # fmt: skip
        assert refused and refused <= held

        done: Counter[tuple[int, str]] = Counter()
        last_sl: dict[int, float] = {}
        for ticket in tickets:
            for entry in store.actions(ticket, limit=1000):
                if entry.get("type") == "action" and entry.get("ok"):
                    done[(ticket, str(entry["key"]))] += 1
                    last_sl[ticket] = float(entry["params"]["stop_loss"])
        assert done and max(done.values()) == 1
        # the broker's stops are the journal's, except at most one: the call in flight when
        # the process was stopped lands after the new owner settled it (docs/scaling.md)
        differ = []
        for ticket in sorted(held):
            position, _ = account_position(account, ticket, SYMBOL)
            assert position is not None
            if position.stop_loss != last_sl[ticket]:
                differ.append(ticket)
        assert len(differ) <= 1, differ
        assert new_bar - zigzag(1, first=WARMUP)[0].time == timedelta(minutes=5 * (bar - WARMUP))
    store.close()


def _owners(store: RedisStore, tickets: list[int]) -> list[str | None]:
    return list(store.client.mget([f"dtms:lease:{t}" for t in tickets]))
