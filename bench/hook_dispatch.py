"""What isolation costs on the hot path: one ``is_defensive`` call through PluginHost
(per-plugin try/except, breaker accounting, fail-safe combination) next to pluggy's bare
``pm.hook.is_defensive(...)``, with 1, 3 and 10 plugins, in the same run.

Each sample times a batch of calls and divides; the table shows the median (p50) and p90
of the per-call time over the samples, in microseconds. The last line is JSON.
``--quick``: 20 samples of 50 calls, the same path in a second (tests/test_bench_scripts.py).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
from collections.abc import Callable

from hookspecs import hookimpl
from hostapp.clock import SimClock
from hostapp.config import HostConfig
from hostapp.host import Host
from hostapp.loader import load_plugins
from hostapp.testing import T0, MemoryBroker, MemoryMarket

SIZES = (1, 3, 10)
SAMPLES = 200
BATCH = 500
QUICK_SAMPLES = 20
QUICK_BATCH = 50


class Answer:
    """A plugin whose answer costs nothing, so the figures are dispatch cost only."""

    @hookimpl
    def is_defensive(self, ticket: int) -> bool:
        return ticket < 0


def per_call_us(
    fn: Callable[[], object], samples: int = SAMPLES, batch: int = BATCH
) -> list[float]:
    for _ in range(batch):  # warm up
        fn()
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        out.append((time.perf_counter_ns() - start) / batch / 1000)
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main(samples: int = SAMPLES, batch: int = BATCH) -> None:
    results: dict[str, float] = {}
    rows = []
    gc.disable()
    try:
        for n in SIZES:
            plugins = load_plugins(
                HostConfig(),
                builtins={f"p{i:02d}": Answer() for i in range(n)},
                entry_points=[],
                env={},
            )
            host = Host(MemoryBroker(), MemoryMarket(), SimClock(T0), HostConfig(), plugins)
            assert plugins.is_defensive(host, 7) is False
            assert plugins.pm.hook.is_defensive(host=host, ticket=7) == [False] * n
            ours = per_call_us(functools.partial(plugins.is_defensive, host, 7), samples, batch)
            bare = per_call_us(
                functools.partial(plugins.pm.hook.is_defensive, host=host, ticket=7),
                samples,
                batch,
            )
            results[f"host_us_p50_{n}"] = round(statistics.median(ours), 3)
            results[f"pluggy_us_p50_{n}"] = round(statistics.median(bare), 3)
            results[f"host_us_p90_{n}"] = round(p(ours, 90), 3)
            results[f"pluggy_us_p90_{n}"] = round(p(bare, 90), 3)
            rows.append((n, ours, bare))
    finally:
        gc.enable()
    print(f"is_defensive dispatch, µs per call ({samples} samples × {batch} calls)")
    print(
        f"{'plugins':>7}  {'PluginHost p50':>14}  {'p90':>7}  {'pluggy p50':>10}  {'p90':>7}  ratio"
    )
    for n, ours, bare in rows:
        ratio = statistics.median(ours) / statistics.median(bare)
        print(
            f"{n:>7}  {statistics.median(ours):>14.3f}  {p(ours, 90):>7.3f}  "
            f"{statistics.median(bare):>10.3f}  {p(bare, 90):>7.3f}  {ratio:.2f}x"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SAMPLES} samples × {QUICK_BATCH} calls"
    )
    quick = parser.parse_args().quick
    main(QUICK_SAMPLES if quick else SAMPLES, QUICK_BATCH if quick else BATCH)
