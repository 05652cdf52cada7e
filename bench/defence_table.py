"""DTMS against the Chandelier exit on the same trades, seed by seed: the defence table.

For each seed of the synthetic feed and each timeframe (M5: 12 days, H1: 120 days of
XAUUSD), the example SMA strategy trades; the run managed by ``atr_trailing`` alone (the
baseline) gives the entries, and the same entries are then managed by DTMS alone (the exit
manager is off in both runs, so each manager stands on its own). One row per seed and
timeframe: trades, max drawdown and average loss of each, and the paired figures
(winners' R kept, losers' R saved, trades made better and worse). DTMS "wins" a row when
its max drawdown AND its average loss are both smaller than the baseline's.

Settings are chosen on the tuning seeds (101 and up) and reported on the held-out ones
(1 and up, the default), which no setting was ever chosen on.

    .venv/bin/python bench/defence_table.py [--seeds 20] [--first 1] [--dtms JSON] [--quick]

``--dtms`` overrides ``[plugin.dtms]`` settings, e.g. ``'{"trail": {"enabled": false}}'``;
``--base`` the baseline's ``[plugin.atr_trailing]``, e.g. ``'{"multiple": 2.5}'``;
``--quick``: one seed unless ``--seeds`` says otherwise (tests/test_bench_scripts.py runs it).

Prints the table; the last line is JSON with the medians and the share of rows DTMS wins.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hostapp import ab
from hostapp.config import config_from_dict
from hostapp.market.synthetic import generate_bars

SYMBOL = "XAUUSD"
START = datetime(2024, 1, 1, tzinfo=UTC)
LENGTH = {"M5": 12 * 288, "H1": 120 * 24}  # bars asked of the generator (weekends dropped)


def one_row(
    seed: int, timeframe: str, root: Path, dtms: dict[str, Any], base: dict[str, Any]
) -> dict[str, Any]:
    series = {
        SYMBOL: generate_bars(SYMBOL, START, LENGTH[timeframe], timeframe=timeframe, seed=seed)
    }
    config = config_from_dict(
        {
            "host": {"timeframe": timeframe},
            "plugins": {"disabled": ["exits"]},
            "plugin": {"dtms": dtms, "atr_trailing": base},
        }
    )
    report = root / f"{timeframe}-{seed}"
    replay = ab.Replay(config, series, timeframe, timeframe, report, {}, progress=False)
    baseline, dtms, _ = ab.compare_runs("dtms", replay, against="atr_trailing", with_full=False)
    paired = ab.build_report("dtms", baseline, dtms, None, "atr_trailing")["same_entries"]["paired"]
    b, d = baseline.summary, dtms.summary
    return {
        "seed": seed,
        "tf": timeframe,
        "trades": b["trades"],
        "dd_base": b["max_drawdown"],
        "dd_dtms": d["max_drawdown"],
        "loss_base": b["avg_loss_r"],
        "loss_dtms": d["avg_loss_r"],
        "avg_r_base": b["avg_r"],
        "avg_r_dtms": d["avg_r"],
        "winners_r_kept": paired["winners_r_kept"],
        "losers_r_saved": paired["losers_r_saved"],
        "better": paired["trades_better"],
        "worse": paired["trades_worse"],
        "dtms_wins": d["max_drawdown"] < b["max_drawdown"] and d["avg_loss_r"] > b["avg_loss_r"],
    }


COLUMNS = (
    ("seed", "{:>4}"), ("tf", "{:>3}"), ("trades", "{:>6}"), ("dd_base", "{:>8.2f}"),
    ("dd_dtms", "{:>8.2f}"), ("loss_base", "{:>+9.2f}"), ("loss_dtms", "{:>+9.2f}"),
    ("avg_r_base", "{:>+10.2f}"), ("avg_r_dtms", "{:>+10.2f}"), ("winners_r_kept", "{:>14.2f}"),
    ("losers_r_saved", "{:>+14.2f}"), ("better", "{:>6}"), ("worse", "{:>5}"),
    ("dtms_wins", "{!s:>9}"),
)  # fmt: skip


def line(row: dict[str, Any]) -> str:
    cells = []
    for key, fmt in COLUMNS:
        value = row[key]
        cells.append(fmt.format(value) if value is not None else f"{'–':>{len(key)}}")
    return " ".join(cells)


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return round(statistics.median(values), 4) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--dtms", type=json.loads, default={})
    parser.add_argument("--base", type=json.loads, default={}, help="[plugin.atr_trailing]")
    parser.add_argument("--quick", action="store_true", help="--seeds 1 unless given")
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(seeds=1)
    args = parser.parse_args()
    seeds = range(args.first, args.first + args.seeds)
    logging.basicConfig(level=logging.CRITICAL)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    print(" ".join(f"{k:>{max(len(k), 3)}}" for k, _ in COLUMNS))
    with tempfile.TemporaryDirectory() as tmp:
        for timeframe in ("M5", "H1"):
            for seed in seeds:
                row = one_row(seed, timeframe, Path(tmp), args.dtms, args.base)
                rows.append(row)
                print(line(row), flush=True)
    out: dict[str, Any] = {"rows": len(rows), "seconds": round(time.perf_counter() - started, 1)}
    for timeframe in ("M5", "H1", "all"):
        part = [r for r in rows if timeframe in ("all", r["tf"])]
        out[timeframe] = {
            key: median(part, key)
            for key in ("dd_base", "dd_dtms", "loss_base", "loss_dtms", "avg_r_base",
                        "avg_r_dtms", "winners_r_kept", "losers_r_saved")
        }  # fmt: skip
        out[timeframe]["dtms_win_share"] = round(sum(r["dtms_wins"] for r in part) / len(part), 3)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
