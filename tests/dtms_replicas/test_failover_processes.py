"""Failover with real processes: one redis-server, three ``dtms serve`` replicas on one
shared paper account, 1,000 trades registered through any replica, one replica SIGKILLed
half way through.

Then every one of the victim's trades is held by a live replica again within a lease TTL
and two cycles (a cycle: the interval plus what the survivors' cycles took), no
registration is lost or applied twice, and after new bars every trade has been evaluated
(its state stamped at the new bar's time) and trailed by exactly one replica: one done
stop move per trade and bar in the journal, the broker's stop the journal's last.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from support.e2e_procs import AUTH, account_position, wait_for
from support.redis_server import RedisServer
from support.replica_procs import SYMBOL, WARMUP, cluster, push_bars, register, zigzag

N = 1000
MONITOR = 0.5  # seconds between cycles
LEASE = 3.0  # seconds: longer than a cycle of ~500 trades on a loaded 2-core machine
SLACK = 5.0  # seconds: heartbeats, polling, and a 2-core machine shared with other work
NEW_BARS = 5  # after the kill: arming takes 3 fast bars, then the trail moves each bar


def test_a_killed_replicas_trades_move_to_the_live_ones(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=N, replicas_n=3, lease_seconds=LEASE,
                 monitor_seconds=MONITOR) as c:  # fmt: skip
        reps, tickets, store = c.replicas, c.tickets, c.store
        victim = reps[2]
        killed = threading.Event()
        orphaned: list[int] = []  # the victim's trades at the kill
        #: seconds after the kill when each of them was first seen held by a live replica
        moved: dict[int, float] = {}

        def watch() -> None:
            start = time.monotonic()
            while len(moved) < len(orphaned):
                left = [t for t in orphaned if t not in moved]
                now = time.monotonic() - start
                for t, o in zip(left, c.owners(left), strict=True):
                    if o not in (None, victim.id):
                        moved[t] = now
                time.sleep(0.05)

        def kill() -> None:
            owners = c.owners()
            orphaned.extend(t for t, o in zip(tickets, owners, strict=True) if o == victim.id)
            victim.server.proc.send_signal(signal.SIGKILL)
            killed.set()
            threading.Thread(target=watch, daemon=True).start()

        def one(i: int) -> int:
            if i == N // 2 and not killed.is_set():
                kill()
            for attempt in range(12):  # a client retries another replica, as any would
                rep = reps[(i + attempt) % 3]
                if killed.is_set() and rep is victim:
                    continue
                try:
                    reply = register(rep.server.url, tickets[i])
                except requests.ConnectionError:
                    continue
                if reply.status_code in (200, 201):
                    return reply.status_code
            raise AssertionError(f"ticket {tickets[i]} not registered")

        with ThreadPoolExecutor(8) as pool:
            codes = Counter(pool.map(one, range(N)))
        victim.server.proc.wait(10)
        live = {r.id for r in reps if r is not victim}

        # every trade owned by a live replica
        wait_for(lambda: set(c.owners()) <= live, timeout=60, what="every lease on a live replica")
        wait_for(lambda: len(moved) == len(orphaned), timeout=60,
                 what="the victim's trades taken over")  # fmt: skip
        slowest = sorted(moved.items(), key=lambda tv: -tv[1])[:5]
        print(f"\nregistrations {dict(codes)}; the victim's {len(orphaned)} trades held by live"
              f" replicas {max(moved.values()):.2f} s after the kill (lease TTL {LEASE} s,"
              f" cycle {MONITOR} s); slowest {slowest}; owners {Counter(c.owners())}")  # fmt: skip
        # "a cycle": the interval plus what a cycle of the survivors took here (their own
        # metric), which on a shared 2-core machine under load is far from constant
        cycle = MONITOR + max(_mean_cycle(r.server.url) for r in reps if r is not victim)
        print(f"a cycle of the survivors: {cycle:.2f} s")
        assert orphaned and max(moved.values()) <= LEASE + 2 * cycle + SLACK

        # no registration lost, none applied twice (each replica logs each one it applied)
        assert sorted(store.records()) == sorted(tickets)
        logs = "".join(r.server.log.read_text() for r in reps)
        applied = Counter(int(t) for t in re.findall(r"registered ticket (\d+) ", logs))
        assert max(applied.values()) == 1, [t for t, n in applied.items() if n > 1][:10]
        # the victim may have written a record and died before logging it: one at most
        assert set(applied) <= set(tickets) and len(set(tickets) - set(applied)) <= 1

        # new bars: every trade evaluated and trailed by its live owner
        bars = zigzag(NEW_BARS, first=WARMUP)
        push_bars(c.account, bars)
        wait_for(lambda: c.stamped(bars[-1].time), timeout=120,
                 what="every trade's state stamped after the kill")  # fmt: skip
        moves, last_sl = c.done_actions()
        print(f"done actions {len(moves)}; sample {store.actions(tickets[0], limit=3)}")
        assert moves and max(moves.values()) == 1  # no action executed twice
        for ticket in tickets[:50]:  # the broker's stop is the journal's last
            position, _ = account_position(c.account, ticket, SYMBOL)
            assert position is not None
            assert position.stop_loss == last_sl.get(ticket, 1900.0), ticket


def _mean_cycle(url: str) -> float:
    """Mean seconds of a monitoring cycle, from the replica's ``/metrics``."""
    text = requests.get(f"{url}/metrics", headers=AUTH, timeout=30).text
    total = float(re.search(r"^dtms_evaluation_seconds_sum (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    count = float(re.search(r"^dtms_evaluation_seconds_count (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    return total / max(count, 1.0)
