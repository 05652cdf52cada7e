"""How fast ``hostapp replay`` runs: 100,000 M5 bars of one symbol, DTMS on and off.

The bars come from the seeded synthetic generator, written to a CSV in a temporary
directory and loaded the way ``hostapp replay`` loads them. Each run then builds the same
host ``hostapp replay`` builds (configuration from ./plugins.toml when present, the DTMS
state in the temporary directory) and drives the loop to the end; the timing covers the
loop with all its plugins (startup to shutdown), not the CSV parsing or the charts, which
are reported separately.

Prints the figures, and as the last line a JSON object with at least
``bars_per_s_dtms_on``, ``bars_per_s_dtms_off`` and ``ratio_on_off`` (on ÷ off; the
target is ≥ 0.5). ``orders_refused_*`` and ``untraded_bars_*`` (the bars after its
account ran dry, as ``summary.json``'s ``ran_dry`` counts them: :mod:`hostapp.ran_dry`)
say when a run's account ran dry: the run without DTMS loses its equity about three
quarters of the way through these bars, and its orders are refused from then on, so it
does less work per bar than the run with DTMS, which trades to the end.

``python bench/replay_speed.py [BARS]``; ``--quick``: 5,000 bars, the same runs in seconds
(tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hostapp import app as appmod
from hostapp.config import load_config
from hostapp.driving import drive, run_summary
from hostapp.market.csvdata import load_csv
from hostapp.market.synthetic import generate_bars
from hostapp.ran_dry import dry_words
from hostapp.report import summary_table

BARS = 100_000
QUICK_BARS = 5_000
SYMBOL = "XAUUSD"
START = datetime(2023, 1, 2, tzinfo=UTC)


def write_csv(path: Path, count: int) -> None:
    bars = generate_bars(SYMBOL, START, count, seed=7)
    with path.open("w") as f:
        f.write("time,open,high,low,close,volume,spread\n")
        for b in bars:
            f.write(
                f"{b.time.strftime('%Y-%m-%dT%H:%M:%SZ')},{b.open},{b.high},{b.low},"
                f"{b.close},{b.volume},{b.spread}\n"
            )


def run_once(csv: Path, state: Path, *, dtms: bool) -> tuple[float, dict[str, object]]:
    """Seconds of the run and its summary (its ``ran_dry``: a run whose account ran dry
    trades no more after it, so its last bars cost less than the others)."""
    config = appmod.with_data_root(load_config(None), state)
    if not dtms:
        config = appmod.without_plugin(config, "dtms")
    series = {SYMBOL: load_csv(csv)}
    app = appmod.build_sim_app(config, series, base_timeframe="M5", timeframe="M5")
    started = time.perf_counter()
    stats = asyncio.run(drive(app, progress=None))
    elapsed = time.perf_counter() - started
    return elapsed, run_summary(app, stats, {})


def main() -> int:
    # DTMS warns about every account defensive episode: noise in a benchmark's output.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bars", type=int, nargs="?", help=f"M5 bars (default {BARS:,})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BARS:,} bars")
    args = parser.parse_args()
    count = args.bars if args.bars is not None else QUICK_BARS if args.quick else BARS
    with tempfile.TemporaryDirectory(prefix="hostapp-bench-") as tmp:
        csv = Path(tmp) / f"{SYMBOL}.csv"
        t0 = time.perf_counter()
        write_csv(csv, count)
        t1 = time.perf_counter()
        load_csv(csv)
        t2 = time.perf_counter()
        print(
            f"{count} M5 bars of {SYMBOL}: generated+written {t1 - t0:.2f}s, loaded {t2 - t1:.2f}s"
        )
        figures: dict[str, object] = {"bars": count, "csv_load_s": round(t2 - t1, 3)}
        for label, dtms in (("dtms_on", True), ("dtms_off", False)):
            elapsed, summary = run_once(csv, Path(tmp) / f"state-{label}", dtms=dtms)
            rate = count / elapsed
            plugins = summary["plugins"]
            loaded = isinstance(plugins, list) and "dtms" in plugins
            print(f"\n== {label}: {elapsed:.2f}s, {rate:,.0f} bars/s (DTMS loaded: {loaded})")
            print(summary_table(summary))
            figures[f"seconds_{label}"] = round(elapsed, 3)
            figures[f"bars_per_s_{label}"] = round(rate)
            figures[f"trades_{label}"] = summary["trades"]
            figures[f"dtms_loaded_{label}"] = loaded
            figures[f"orders_refused_{label}"] = summary["orders_rejected"]
            dry = summary["ran_dry"]
            figures[f"untraded_bars_{label}"] = dry["bars_untraded"] if dry else 0
            if dry:
                print(f"{summary['orders_rejected']} orders refused; the account {dry_words(dry)}")
    on, off = figures["bars_per_s_dtms_on"], figures["bars_per_s_dtms_off"]
    assert isinstance(on, int) and isinstance(off, int)
    ratio = on / off if off else 0.0
    figures["ratio_on_off"] = round(ratio, 3)
    print(f"\nDTMS on runs at {ratio:.1%} of the bars/s with it off (target ≥ 50 %)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
