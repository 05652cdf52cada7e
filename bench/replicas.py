"""Several ``dtms serve`` replicas on one Redis (docs/scaling.md), measured in one run on
loopback: registrations/s and queries/s through 1, 2 and 3 replicas (``--replicas``), with
p99 latency.

Each round starts a fresh redis-server, a shared paper account holding the positions and
N replicas; clients (threads, round robin over the replicas) register every position,
then query random trades (``GET /dtms/trade/{ticket}``). A registration is answered once a
replica has applied it from the stream (docs/scaling.md), so its latency includes the
stream hop. Everything is bounded and stops by itself; the last line is JSON.
``--quick``: 20 trades and 100 queries through 1 and 2 replicas, in seconds
(tests/test_bench_scripts.py runs it).

``--idle N``: instead, what an idle set-up costs Redis: N open trades registered through
two replicas at the default cycle (5 s), then, with no client and the account's clock
standing, the commands Redis processed per second over ``--idle-seconds``
(``INFO stats`` ``total_commands_processed``, before and after).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import requests
from support.e2e_procs import AUTH
from support.redis_server import start_redis, stop_redis
from support.replica_procs import open_positions, register, replica_config, replicas

CLIENTS = 8


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn, jobs: list) -> tuple[float, list[float], int]:  # type: ignore[no-untyped-def]
    """Run ``fn`` over ``jobs`` on CLIENTS threads: (seconds, latencies in ms, errors)."""

    def one(job: object) -> tuple[float, bool]:
        start = time.perf_counter()
        ok = fn(job)
        return (time.perf_counter() - start) * 1000, ok

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, jobs))
    return time.perf_counter() - start, [r[0] for r in results], sum(not r[1] for r in results)


def round_of(n: int, trades: int, queries: int, directory: Path) -> dict[str, float]:
    redis = start_redis(directory / "redis")
    try:
        account = directory / "account.db"
        tickets = open_positions(account, trades)
        config = replica_config(directory, account, redis.url())
        with replicas(config, directory, n, monitor_seconds=1.0) as reps:
            urls = [r.server.url for r in reps]

            def reg(i: int) -> bool:
                return register(urls[i % n], tickets[i]).status_code == 201

            reg_s, reg_ms, reg_err = _timed(reg, list(range(trades)))
            session = requests.Session()
            rng = random.Random(7)
            picks = [(urls[i % n], rng.choice(tickets)) for i in range(queries)]

            def query(job: tuple[str, int]) -> bool:
                url, ticket = job
                got = session.get(f"{url}/dtms/trade/{ticket}", headers=AUTH, timeout=30)
                return got.status_code == 200

            q_s, q_ms, q_err = _timed(query, picks)
        return {
            "replicas": n,
            "registrations_per_s": round(trades / reg_s, 1),
            "registration_p99_ms": round(_pct(reg_ms, 0.99), 1),
            "registration_errors": reg_err,
            "queries_per_s": round(queries / q_s, 1),
            "query_p99_ms": round(_pct(q_ms, 0.99), 1),
            "query_errors": q_err,
        }
    finally:
        stop_redis(redis.process)


def idle_round(trades: int, seconds: float, directory: Path) -> dict[str, float]:
    """Redis commands/s of two idle replicas over ``trades`` open trades."""
    import redis as redis_py

    server = start_redis(directory / "redis")
    try:
        account = directory / "account.db"
        tickets = open_positions(account, trades)
        config = replica_config(directory, account, server.url())
        client = redis_py.Redis.from_url(server.url())
        with replicas(config, directory, 2, monitor_seconds=5.0) as reps:
            urls = [r.server.url for r in reps]
            _timed(
                lambda i: register(urls[i % 2], tickets[i]).status_code == 201, list(range(trades))
            )
            time.sleep(12.0)  # two cycles each: every trade leased, stamped, settled
            held = [client.get(f"dtms:lease:{t}") for t in tickets]
            before = int(client.info("stats")["total_commands_processed"])
            start = time.monotonic()
            time.sleep(seconds)
            after = int(client.info("stats")["total_commands_processed"])
            per_s = (after - before - 1) / (time.monotonic() - start)
        client.close()
        return {
            "replicas": 2,
            "open_trades": trades,
            "leased": sum(h is not None for h in held),
            "idle_commands_per_s": round(per_s, 1),
        }
    finally:
        stop_redis(server.process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=500)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3], help="per round")
    parser.add_argument(
        "--quick", action="store_true", help="--trades 20 --queries 100 --replicas 1 2"
    )
    parser.add_argument("--idle", type=int, default=0, help="idle cost over N open trades")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(trades=20, queries=100, replicas=[1, 2])
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("bench/replicas.py: redis-server is not installed (make test installs it)")
        return 2
    if args.idle:
        with tempfile.TemporaryDirectory(prefix="bench-replicas-idle-") as tmp:
            r = idle_round(args.idle, args.idle_seconds, Path(tmp))
        print(
            f"2 idle replicas, {r['open_trades']} open trades ({r['leased']} leased):"
            f" {r['idle_commands_per_s']:.0f} Redis commands/s"
        )
        print(json.dumps(r))
        return 0
    rounds = []
    for n in args.replicas:
        with tempfile.TemporaryDirectory(prefix=f"bench-replicas-{n}-") as tmp:
            r = round_of(n, args.trades, args.queries, Path(tmp))
        rounds.append(r)
        print(
            f"{n} replica(s): {r['registrations_per_s']:.0f} registrations/s"
            f" (p99 {r['registration_p99_ms']:.0f} ms), {r['queries_per_s']:.0f} queries/s"
            f" (p99 {r['query_p99_ms']:.1f} ms), errors {r['registration_errors']}"
            f"/{r['query_errors']}"
        )
    print(json.dumps({"clients": CLIENTS, "trades": args.trades, "rounds": rounds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
