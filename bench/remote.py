"""The remote DTMS path, measured in one run on loopback: 1,000 registrations drained
from the remote strategy's outbox (batched ``POST /dtms/trades``; target ≤ 1 s); what a
host pays for ``is_defensive`` with the remote strategy (a warm cache, no I/O) next to
the original's blocking ``requests.get`` per query; refreshing 1,000 tickets with one
batched request next to 1,000 single GETs; and the server's throughput under 100
concurrent clients.

The server runs in a child process (``dtms_plugin.server`` with the local engine over an
in-memory broker holding 1,000 positions), so the clients and the server do not share an
event loop or a GIL. Everything is bounded and stops by itself; the last line is JSON.
``--quick``: 100 tickets, 10 clients, the same path in seconds under the same keys
(tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TICKETS = 1000
DEFENSIVE_CALLS = 20_000
BASELINE_QUERIES = 300
CLIENTS = 100
REQUESTS_PER_CLIENT = 50
#: How long the outbox may take to drain before the bench says so and goes on.
DRAIN_DEADLINE_S = 60.0


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does: the constants above, or ``--quick``'s."""

    tickets: int = TICKETS
    defensive_calls: int = DEFENSIVE_CALLS
    baseline_queries: int = BASELINE_QUERIES
    clients: int = CLIENTS
    requests_per_client: int = REQUESTS_PER_CLIENT


FULL = Sizes()
QUICK = Sizes(
    tickets=100, defensive_calls=2_000, baseline_queries=30, clients=10, requests_per_client=10
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the server (child process) -------------------------------------------------------------


def serve_child(port: int, state_dir: str, tickets: int = TICKETS) -> None:
    """A DTMS server with the local engine over an in-memory account of ``tickets``
    positions (1,000)."""
    from aiohttp import web

    from dtms_plugin.server import ServerSettings, create_app
    from dtms_plugin.settings import DtmsSettings
    from hookspecs import OrderRequest
    from hostapp.clock import SimClock
    from hostapp.testing import T0, MemoryBroker, MemoryMarket, bars_from_closes, make_host

    closes = [2000.0 + (i % 40) * 0.5 for i in range(400)]
    market = MemoryMarket({"XAUUSD": bars_from_closes(closes, start=T0)})
    clock = SimClock(T0)
    broker = MemoryBroker({"XAUUSD": closes[-1]}, clock=clock)
    for _ in range(tickets):
        broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=state_dir),
        port=port,
        token="",
        monitor_seconds=3600.0,  # one cycle at start: measure the API, not the engine
        max_batch_tickets=tickets,
    )
    app = create_app(settings, host=make_host(broker, market, clock))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server process exited")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy in 60 s")


# -- measurements ---------------------------------------------------------------------------


async def drain_outbox_s(url: str, state_dir: str, size: Sizes = FULL) -> tuple[float, bool]:
    """Seconds from the first of 1,000 (``size.tickets``) registrations handed to the
    remote strategy to its outbox empty (every one answered by the server), and whether
    that happened before the deadline."""
    from dtms_plugin.remote import RemoteStrategy
    from dtms_plugin.settings import DtmsSettings
    from hookspecs import Trade

    strategy = RemoteStrategy(DtmsSettings(api_url=url, state_dir=state_dir))
    host: Any = _Host()
    await strategy.startup(host)
    try:
        opened = datetime.now(UTC)
        trades = [
            Trade(t, "XAUUSD", "buy", 0.1, 2000.0, None, None, opened)
            for t in range(1, size.tickets + 1)
        ]
        t0 = time.perf_counter()
        for trade in trades:
            await strategy.on_trade_executed(host, trade)
        deadline = t0 + DRAIN_DEADLINE_S
        while strategy.store.outbox_len() and time.perf_counter() < deadline:
            try:
                await asyncio.wait_for(strategy.drain(), deadline - time.perf_counter())
            except TimeoutError:
                break
        drained = strategy.store.outbox_len() == 0
        return time.perf_counter() - t0, drained
    finally:
        await strategy.shutdown(host)


async def register_all(url: str, size: Sizes = FULL) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for ticket in range(1, size.tickets + 1):
            body = {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy",
                    "entry": 2000.0, "volume": 0.1}  # fmt: skip
            async with session.post(f"{url}/dtms/trade/enable", json=body) as resp:
                if resp.status not in (200, 201):
                    raise RuntimeError(f"registration of {ticket}: {resp.status}")


class _Host:
    """The little of a host the remote strategy's hooks touch: its log, and its clock
    (``is_defensive`` dates the account mode on it; a live host's, the wall clock)."""

    def __init__(self) -> None:
        import logging

        from hostapp.clock import SystemClock

        self.log = logging.getLogger("bench")
        self.clock = SystemClock()


async def is_defensive_us(url: str, state_dir: str, size: Sizes = FULL) -> tuple[float, float]:
    from dtms_plugin.remote import RemoteStrategy
    from dtms_plugin.settings import DtmsSettings

    strategy = RemoteStrategy(DtmsSettings(api_url=url, state_dir=state_dir))
    host: Any = _Host()
    await strategy.startup(host)
    try:
        from hookspecs import Trade

        for ticket in range(1, size.tickets + 1):  # already registered: the server says 200
            trade = Trade(ticket, "XAUUSD", "buy", 0.1, 2000.0, None, None, datetime.now(UTC))
            await strategy.on_trade_executed(host, trade)
        # the outbox drains (all already registered: 200s), then one batched refresh
        # fills the cache; waited for with a deadline, not assumed done after one cycle
        deadline = time.monotonic() + DRAIN_DEADLINE_S
        cold = list(range(1, size.tickets + 1))
        while cold and time.monotonic() < deadline:
            await asyncio.wait_for(strategy.drain(), max(0.1, deadline - time.monotonic()))
            await strategy.refresh()
            cold = [t for t in cold if strategy.store.get_state(t) is None]
        if cold:
            raise RuntimeError(
                f"{len(cold)} tickets not in the cache {DRAIN_DEADLINE_S:g} s after registering"
            )
        samples = []
        for i in range(size.defensive_calls):
            ticket = i % size.tickets + 1
            t0 = time.perf_counter_ns()
            strategy.is_defensive(host, ticket)
            samples.append((time.perf_counter_ns() - t0) / 1000)
        return statistics.median(samples), _pct(samples, 0.99)
    finally:
        await strategy.shutdown(host)


def requests_baseline_us(url: str, size: Sizes = FULL) -> tuple[float, float]:
    """The original: a blocking ``requests.get`` (a new connection) per query."""
    import requests

    samples = []
    for i in range(size.baseline_queries):
        t0 = time.perf_counter_ns()
        requests.get(f"{url}/dtms/trade/{i % size.tickets + 1}", timeout=5).json()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples), _pct(samples, 0.99)


async def batch_vs_single_ms(url: str, size: Sizes = FULL) -> tuple[float, float]:
    import aiohttp

    tickets = ",".join(str(t) for t in range(1, size.tickets + 1))
    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()
        async with session.get(f"{url}/dtms/trades", params={"tickets": tickets}) as resp:
            body = await resp.json()
        batch = (time.perf_counter() - t0) * 1000
        if len(body["trades"]) != size.tickets:
            raise RuntimeError(f"batch answered {len(body['trades'])} trades")
        t0 = time.perf_counter()
        for ticket in range(1, size.tickets + 1):
            async with session.get(f"{url}/dtms/trade/{ticket}") as resp:
                await resp.read()
        single = (time.perf_counter() - t0) * 1000
    return batch, single


async def throughput(url: str, size: Sizes = FULL) -> tuple[float, float, int]:
    import aiohttp

    latencies: list[float] = []
    errors = 0

    async def client(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        for i in range(size.requests_per_client):
            t0 = time.perf_counter()
            try:
                async with session.get(f"{url}/dtms/trade/{(n * 7 + i) % size.tickets + 1}") as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    connector = aiohttp.TCPConnector(limit=size.clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session, n) for n in range(size.clients)))
        elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, _pct(latencies, 0.99), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("PORT", "STATE_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.tickets} tickets")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    if args.child:
        serve_child(int(args.child[0]), args.child[1], size.tickets)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "DTMS_TOKEN"}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(port), str(Path(tmp) / "server")]
            + (["--quick"] if args.quick else []),
            env=env,
        )
        try:
            _wait_healthy(url, proc)
            drain_s, drained = asyncio.run(drain_outbox_s(url, str(Path(tmp) / "drain"), size))
            asyncio.run(register_all(url, size))  # all already registered: the old per-trade path
            d50, d99 = asyncio.run(is_defensive_us(url, str(Path(tmp) / "client"), size))
            b50, b99 = requests_baseline_us(url, size)
            batch, single = asyncio.run(batch_vs_single_ms(url, size))
            rps, p99, errors = asyncio.run(throughput(url, size))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    result = {
        "tickets": size.tickets,
        "outbox_drain_1000_s": round(drain_s, 3),
        "outbox_drained": drained,
        "is_defensive_us_p50": round(d50, 2),
        "is_defensive_us_p99": round(d99, 2),
        "requests_baseline_us_p50": round(b50, 1),
        "requests_baseline_us_p99": round(b99, 1),
        "batch_1000_ms": round(batch, 2),
        "single_1000_ms": round(single, 2),
        "server_clients": size.clients,
        "server_requests": size.clients * size.requests_per_client,
        "server_rps": round(rps, 1),
        "server_p99_ms": round(p99, 2),
        "server_errors": errors,
    }
    state = "" if drained else f" (NOT drained within {DRAIN_DEADLINE_S:g} s)"
    print(f"outbox: {size.tickets} registrations drained in {drain_s:.2f} s (target 1 s){state}")
    print(f"is_defensive (remote, warm cache): p50 {d50:.2f} µs, p99 {d99:.2f} µs")
    print(f"requests.get per query (original): p50 {b50:.0f} µs, p99 {b99:.0f} µs")
    print(
        f"refresh {size.tickets} tickets: one batch {batch:.1f} ms, "
        f"{size.tickets} GETs {single:.1f} ms"
    )
    print(f"server, {size.clients} clients: {rps:.0f} req/s, p99 {p99:.1f} ms, {errors} errors")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
