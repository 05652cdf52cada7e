"""How much ``--jobs`` saves: ``hostapp replay FILE --compare`` on 100,000 M5 bars, its
runs one after the other (``--jobs 1``) and in two worker processes (``--jobs 2``).

The A/B is three replays: the baseline, DTMS on the baseline's entries (which needs the
baseline's entries first) and DTMS trading freely. With two workers the free run goes
beside the baseline, so the wall time is about two runs instead of three, plus the
workers' start (imports and the bars sent to each). The timing is the whole command as
a trader runs it (a subprocess: CSV load, runs, charts, report), with the shipped
plugins.toml; both commands must write the same trades.

Prints both wall times and, as the last line, a JSON object with ``jobs_1_s``,
``jobs_2_s``, ``speedup`` and ``same_trades``. ``python bench/compare_jobs.py [BARS]``;
``--quick``: 2,000 bars, the same commands in seconds (tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hostapp.market.synthetic import generate_bars

BARS = 100_000
QUICK_BARS = 2_000
SYMBOL = "XAUUSD"
START = datetime(2023, 1, 2, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, count: int) -> None:
    bars = generate_bars(SYMBOL, START, count, seed=7)
    with path.open("w") as f:
        f.write("time,open,high,low,close,volume,spread\n")
        for b in bars:
            f.write(
                f"{b.time.strftime('%Y-%m-%dT%H:%M:%SZ')},{b.open},{b.high},{b.low},"
                f"{b.close},{b.volume},{b.spread}\n"
            )


def compare(csv: Path, report: Path, jobs: int) -> float:
    command = [
        sys.executable, "-m", "hostapp.cli", "replay", str(csv), "--compare",
        "--config", str(ROOT / "plugins.toml"), "--jobs", str(jobs), "--report", str(report),
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"--jobs {jobs} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bars", type=int, nargs="?", help=f"M5 bars (default {BARS:,})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BARS:,} bars")
    args = parser.parse_args()
    count = args.bars if args.bars is not None else QUICK_BARS if args.quick else BARS
    with tempfile.TemporaryDirectory(prefix="hostapp-bench-") as tmp:
        csv = Path(tmp) / f"{SYMBOL}.csv"
        write_csv(csv, count)
        seconds: dict[int, float] = {}
        for jobs in (1, 2):
            seconds[jobs] = compare(csv, Path(tmp) / f"jobs{jobs}", jobs)
            print(f"--compare of {count:,} M5 bars, --jobs {jobs}: {seconds[jobs]:.1f}s wall")
        trades = [(Path(tmp) / f"jobs{j}" / "trades.csv").read_text() for j in (1, 2)]
        same = trades[0] == trades[1]
        speedup = seconds[1] / seconds[2]
        print(f"speed-up {speedup:.2f}x; the same trades in both: {same}")
    figures = {
        "bars": count,
        "jobs_1_s": round(seconds[1], 2),
        "jobs_2_s": round(seconds[2], 2),
        "speedup": round(speedup, 3),
        "same_trades": same,
    }
    print(json.dumps(figures))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
