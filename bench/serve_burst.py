"""Does ``dtms serve`` keep monitoring and answering while a trading host catches up? A real
``dtms serve`` on a paper account file holding the positions, and a burst from another
process: 1,000 registrations as batches of the API's maximum (``POST /dtms/trades``, one
after another, as a client's outbox sends them), 200 single ``POST /dtms/trade/enable``
at once, and meanwhile ``READERS`` clients reading ``GET /dtms/trade/<ticket>`` and
``STATUS_READERS`` reading ``GET /dtms/status``, each in a loop.

This process probes the server throughout, from a thread of its own (the burst's client
loop delays no probe): every ``PROBE_EVERY_S`` a ``GET /health`` and a ``GET
/dtms/trade/<ticket>`` of a trade registered before the burst, each timed, and ``GET
/metrics``, whose ``dtms_evaluation_seconds`` count and sum say when monitoring cycles
ended and how long each took (a cycle is dated by the first probe that counts it: exact to
a probe's interval and latency). The loop runs a cycle, then sleeps ``--monitor-seconds``:
a gap between two cycles' ends is the period, the second cycle's own work, and any time
the cycle was held back, which is what a blocked engine loop or lock would show. Figures:

* ``cycles_run`` in the burst (from its first request sent to its last answered) and
  ``cycles_due`` (its length over the period plus ``cycle_s_mean``, a cycle's mean work
  meanwhile); ``max_cycle_gap_s``, the longest time between two cycles' ends across it,
  ``cycle_s_max``, the longest cycle's work, and ``max_cycle_late_s``, the most a cycle
  started after it was due (its gap less its work and the period; 0 when nothing holds
  it back);
* ``health_ms_p50/p99/max`` and ``trade_ms_p50/p99/max``: the probes' latency in the
  burst; ``baseline_health_ms_p99`` before it;
* ``registered``: the registrations answered 201 (all of them, else the figures are of a
  failed burst), ``burst_s``, and what the burst's clients saw (``burst``: statuses,
  reads, the slowest batch and single registration).

``--batched``, ``--batch``, ``--singles`` and ``--monitor-seconds`` change the sizes.
Loopback only; bounded; the server is stopped with SIGINT. Last line JSON. ``--quick``:
200 registrations in batches of 100 and 20 single POSTs at ``--monitor-seconds 0.5``, the
same path in seconds (tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
from support.e2e_procs import AUTH, dtms_server, free_port, toml_config  # noqa: E402
from support.replica_procs import SYMBOL, open_positions, registration  # noqa: E402

#: the most registrations one ``POST /dtms/trades`` carries (the API's maximum)
BATCH = 200
PROBE_EVERY_S = 0.05
READERS = 20  # clients reading GET /dtms/trade/<ticket> in a loop during the burst
STATUS_READERS = 5  # clients reading GET /dtms/status in a loop during the burst


@dataclass(frozen=True)
class Sizes:
    batched: int = 1000
    batch: int = BATCH
    singles: int = 200
    monitor_seconds: float = 1.0

    def argv(self) -> list[str]:
        """These sizes as the command line gives them (to the burst's process)."""
        return ["--batched", str(self.batched), "--batch", str(self.batch),
                "--singles", str(self.singles),
                "--monitor-seconds", str(self.monitor_seconds)]  # fmt: skip


FULL = Sizes()
QUICK = Sizes(batched=200, batch=100, singles=20, monitor_seconds=0.5)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _ms(values: list[float], name: str) -> dict[str, float | None]:
    return {
        f"{name}_ms_p50": round(statistics.median(values), 1) if values else None,
        f"{name}_ms_p99": round(_pct(values, 0.99), 1),
        f"{name}_ms_max": round(max(values, default=0.0), 1),
    }


# -- the burst (a child process: its client loop and GIL are not the probes') ---------------


async def burst(url: str, size: Sizes, first: int) -> dict[str, Any]:
    """Tickets ``first..``: ``size.batched`` in batches, one after another, and
    ``size.singles`` single POSTs at once, while readers GET trades and the status."""
    import aiohttp

    batched = list(range(first, first + size.batched))
    singles = list(range(first + size.batched, first + size.batched + size.singles))
    statuses: dict[int, int] = {}
    batch_ms: list[float] = []
    single_ms: list[float] = []
    reads = 0
    done = asyncio.Event()

    async def batches(session: aiohttp.ClientSession) -> None:
        for at in range(0, len(batched), size.batch):
            body = {"trades": [registration(t) for t in batched[at : at + size.batch]]}
            t0 = time.monotonic()
            async with session.post(f"{url}/dtms/trades", json=body) as resp:
                answer = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(f"POST /dtms/trades: {resp.status} {answer}")
            batch_ms.append((time.monotonic() - t0) * 1000)
            for result in answer["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1

    async def single(session: aiohttp.ClientSession, ticket: int) -> None:
        t0 = time.monotonic()
        async with session.post(f"{url}/dtms/trade/enable", json=registration(ticket)) as resp:
            await resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
        single_ms.append((time.monotonic() - t0) * 1000)

    async def reader(session: aiohttp.ClientSession, path: str) -> None:
        nonlocal reads
        while not done.is_set():
            ticket = random.choice(batched + singles)
            async with session.get(f"{url}{path.format(ticket=ticket)}") as resp:
                await resp.read()
                reads += 1

    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers=AUTH, connector=connector, timeout=timeout) as s:
        readers = [asyncio.create_task(reader(s, "/dtms/trade/{ticket}")) for _ in range(READERS)]
        readers += [asyncio.create_task(reader(s, "/dtms/status")) for _ in range(STATUS_READERS)]
        try:
            await asyncio.gather(batches(s), *(single(s, t) for t in singles))
        finally:
            done.set()
            await asyncio.gather(*readers, return_exceptions=True)
    return {
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "reads": reads,
        "batch_ms_max": round(max(batch_ms, default=0.0), 1),
        "single_ms_p50": round(statistics.median(single_ms), 1) if single_ms else None,
        "single_ms_max": round(max(single_ms, default=0.0), 1),
        "began": began,  # monotonic: every process of this machine reads the same clock
        "ended": time.monotonic(),
    }


# -- the probes (a thread of this process) ---------------------------------------------------


@dataclass
class Probes:
    """Per probe: when it was sent and answered (monotonic), the latency of ``/health``
    and of the trade, and the cycles ``/metrics`` counted with their summed seconds."""

    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    trade_ms: list[float] = field(default_factory=list)
    cycles: list[int] = field(default_factory=list)
    cycle_s: list[float] = field(default_factory=list)


def cycle_work(text: str) -> tuple[int, float]:
    """``/metrics``' count of monitoring cycles, and their seconds summed."""
    said = dict(line.split(" ", 1) for line in text.splitlines() if line.startswith("dtms_eval"))
    return int(float(said["dtms_evaluation_seconds_count"])), float(
        said["dtms_evaluation_seconds_sum"]
    )


def probe(url: str, ticket: int, probes: Probes, stop: threading.Event) -> None:
    with requests.Session() as session:
        session.headers.update(AUTH)
        while not stop.is_set():
            t0 = time.monotonic()
            session.get(f"{url}/health", timeout=60)
            t1 = time.monotonic()
            trade = session.get(f"{url}/dtms/trade/{ticket}", timeout=60)
            t2 = time.monotonic()
            if trade.status_code != 200:
                raise RuntimeError(f"GET /dtms/trade/{ticket}: {trade.status_code}")
            cycles, seconds = cycle_work(session.get(f"{url}/metrics", timeout=60).text)
            probes.sent.append(t0)
            probes.answered.append(time.monotonic())
            probes.health_ms.append((t1 - t0) * 1000)
            probes.trade_ms.append((t2 - t1) * 1000)
            probes.cycles.append(cycles)
            probes.cycle_s.append(seconds)
            stop.wait(max(0.0, PROBE_EVERY_S - (time.monotonic() - t0)))


def cycles_seen(probes: Probes) -> list[tuple[float, float | None]]:
    """Each cycle the probes saw end: when (the answer that first counted it) and its
    work in seconds (None when one probe counted several: not told apart)."""
    seen: list[tuple[float, float | None]] = []
    for k in range(1, len(probes.cycles)):
        new = probes.cycles[k] - probes.cycles[k - 1]
        work = probes.cycle_s[k] - probes.cycle_s[k - 1] if new == 1 else None
        seen += [(probes.answered[k], work)] * new
    return seen


def figures(probes: Probes, start: float, end: float, period: float) -> dict[str, Any]:
    """The burst's figures from the probes in ``[start, end]``."""
    inside = [i for i, t in enumerate(probes.sent) if start <= t <= end]
    before = [i for i, t in enumerate(probes.sent) if t < start]
    seen = cycles_seen(probes)
    # across the burst: from the last cycle before it to the first after it
    first = max((i for i, (t, _) in enumerate(seen) if t < start), default=0)
    last = min((i for i, (t, _) in enumerate(seen) if t > end), default=len(seen) - 1)
    across = seen[first : last + 1]
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(across)]
    works = [w for _, w in across[1:] if w is not None]
    late = [
        max(0.0, (b - a) - w - period)
        for (a, _), (b, w) in itertools.pairwise(across)
        if w is not None
    ]
    i0 = next((i for i, t in enumerate(probes.answered) if t >= start), 0)
    i1 = next((i for i, t in enumerate(probes.answered) if t > end), len(probes.answered) - 1)
    ran = probes.cycles[i1] - probes.cycles[i0]
    work = (probes.cycle_s[i1] - probes.cycle_s[i0]) / ran if ran else 0.0
    return {
        "monitor_seconds": period,
        "burst_s": round(end - start, 2),
        "cycles_run": sum(1 for t, _ in seen if start <= t <= end),
        "cycles_due": round((end - start) / (period + work), 1),
        "cycle_s_mean": round(work, 3),
        "cycle_s_max": round(max(works, default=0.0), 3),
        "max_cycle_gap_s": round(max(gaps, default=0.0), 2),
        "max_cycle_late_s": round(max(late, default=0.0), 2),
        "probes": len(inside),
        **_ms([probes.health_ms[i] for i in inside], "health"),
        **_ms([probes.trade_ms[i] for i in inside], "trade"),
        "baseline_health_ms_p99": round(_pct([probes.health_ms[i] for i in before], 0.99), 1),
    }


def run(size: Sizes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        account = folder / "paper-account.sqlite"
        tickets = open_positions(account, 1 + size.batched + size.singles)
        config = toml_config(
            folder / "plugins.toml",
            symbols=[SYMBOL],
            account_file=account,
            state_dir=folder / "dtms",
            host={"data": "builtin", "timeframe": "M5"},
        )
        period, log = size.monitor_seconds, folder / "serve.log"
        with dtms_server(config, free_port(), monitor_seconds=period, log=log) as server:
            reply = requests.post(
                f"{server.url}/dtms/trade/enable", json=registration(tickets[0]),
                headers=AUTH, timeout=60,
            )  # fmt: skip
            if reply.status_code != 201:
                raise RuntimeError(f"registering {tickets[0]}: {reply.status_code} {reply.text}")
            probes, stop = Probes(), threading.Event()
            prober = threading.Thread(target=probe, args=(server.url, tickets[0], probes, stop))
            prober.start()
            try:
                time.sleep(3 * period)  # the baseline: cycles and answers before the burst
                burst_argv = ["--burst", server.url, str(tickets[1]), *size.argv()]
                child = subprocess.run(
                    [sys.executable, __file__, *burst_argv],
                    capture_output=True, text=True, timeout=1800,
                )  # fmt: skip
                time.sleep(3 * period + 1)  # the first cycles after it
            finally:
                stop.set()
                prober.join()
        if child.returncode != 0:
            raise RuntimeError(f"the burst failed: {child.stderr[-3000:]}")
        load = json.loads(child.stdout.strip().splitlines()[-1])
        result = figures(probes, load.pop("began"), load.pop("ended"), period)
    return {**result, "registered": load["statuses"].get("201", 0), "burst": load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small burst, in seconds")
    parser.add_argument("--batched", type=int, help=f"registrations in batches ({FULL.batched})")
    parser.add_argument("--batch", type=int, help=f"registrations per batch ({FULL.batch})")
    parser.add_argument("--singles", type=int, help=f"single registrations ({FULL.singles})")
    parser.add_argument(
        "--monitor-seconds", type=float, help=f"dtms serve's ({FULL.monitor_seconds:g})"
    )
    parser.add_argument("--burst", nargs=2, metavar=("URL", "FIRST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    given = {k: v for k, v in vars(args).items() if k in Sizes.__dataclass_fields__}
    size = replace(
        QUICK if args.quick else FULL, **{k: v for k, v in given.items() if v is not None}
    )
    if args.burst:
        print(json.dumps(asyncio.run(burst(args.burst[0], size, int(args.burst[1])))))
        return 0
    r = run(size)
    b = r["burst"]
    print(
        f"burst of {size.batched + size.singles} registrations ({size.batched} in batches of "
        f"{size.batch}, {size.singles} single): {r['registered']} registered in "
        f"{r['burst_s']:.2f} s (slowest batch {b['batch_ms_max']:.0f} ms, single "
        f"{b['single_ms_max']:.0f} ms), {b['reads']} reads beside"
    )
    print(
        f"monitoring every {size.monitor_seconds:g} s: {r['cycles_run']} cycles ran where "
        f"{r['cycles_due']:g} were due (a cycle's work: mean {r['cycle_s_mean']:.3f} s, max "
        f"{r['cycle_s_max']:.3f} s); longest gap {r['max_cycle_gap_s']:.2f} s, a cycle late "
        f"by at most {r['max_cycle_late_s']:.2f} s"
    )
    print(
        f"GET /health: p50 {r['health_ms_p50']} ms, p99 {r['health_ms_p99']} ms, max "
        f"{r['health_ms_max']} ms (before: p99 {r['baseline_health_ms_p99']} ms); "
        f"GET /dtms/trade: p50 {r['trade_ms_p50']} ms, p99 {r['trade_ms_p99']} ms, "
        f"max {r['trade_ms_max']} ms"
    )
    failed = r["registered"] != size.batched + size.singles
    if failed:
        print(f"only {r['registered']} registered: the figures are of a failed burst")
    print(json.dumps(r))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
