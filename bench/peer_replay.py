"""hostapp's replay beside a peer: the same SMA-crossover strategy on the same bars in
backtrader (the classic event-driven Python backtester) and in ``hostapp replay`` with
DTMS off and on, in one run.

The strategy is ``examples/sma_strategy``'s rules: a buy when the 10-bar simple average
crosses above the 30-bar one, a sell when it crosses below; stop 1.5 and target 3 ×
the 14-bar mean true range from the close. The bars: 100,000 M5 bars of XAUUSD from the
seeded synthetic feed, handed to both in memory (no CSV parsing in either time).

Fill rules, and why the trade counts may differ a little:

* hostapp fills a proposed order at the signal bar's close (bid = close, ask = close +
  spread); backtrader is set to fill at the close too (``cheat-on-close``), without a
  spread.
* hostapp's paper account hedges: a cross the other way opens a second position beside
  the first. backtrader nets one position per data feed: the opposite order closes (or
  flips) the open one, and the old bracket's stop and target stay working. So the
  trades counted here are *entries* (orders filled on a cross), which both make on every
  cross; the positions' lives, and so the money, are not comparable.
* a cross is ``before ≤ 0 < now`` of (fast − slow) in hostapp; backtrader's
  ``CrossOver`` treats an exactly equal pair the same way up to float ties.

Both accounts are deep enough never to run dry and trade a fixed 1 lot (with hostapp's
default 10,000 and risk sizing this losing strategy empties the account within the
100,000 bars, and the orders after that are refused).

The hostapp runs also carry what ``hostapp replay`` always runs (the exit manager; with
DTMS on, the whole defensive engine and its store), which may hold back an entry
(DTMS refuses new orders on a symbol with a hedged trade): the counts must agree within
``TOLERANCE`` (DTMS off) or are reported as they are (DTMS on).

Prints the figures; the last line is JSON with ``backtrader_bars_per_s``,
``hostapp_off_bars_per_s``, ``hostapp_on_bars_per_s``, ``backtrader_trades``,
``hostapp_trades`` (DTMS off), ``hostapp_on_trades`` and the ratios to backtrader.
``python bench/peer_replay.py [BARS]``; ``--quick``: 5,000 bars, the same three runs in
seconds (tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hookspecs import Bar
from hostapp import app as appmod
from hostapp.config import load_config
from hostapp.driving import drive, run_summary
from hostapp.market.synthetic import generate_bars

BARS = 100_000
QUICK_BARS = 5_000
SYMBOL = "XAUUSD"
START = datetime(2023, 1, 2, tzinfo=UTC)
TOLERANCE = 0.02  # entries of hostapp (DTMS off) vs backtrader, relative


def run_backtrader(bars: list[Bar]) -> tuple[float, int]:
    """Seconds of ``cerebro.run`` and the entries filled."""
    import backtrader as bt  # the bench extra: pip install -e '.[bench]'

    class ListFeed(bt.feed.DataBase):  # type: ignore[misc,name-defined]
        params = (("rows", None),)

        def start(self) -> None:
            super().start()
            self._i = 0

        def _load(self) -> bool:
            rows = self.p.rows
            if self._i >= len(rows):
                return False
            b = rows[self._i]
            self._i += 1
            line = self.lines
            line.datetime[0] = bt.date2num(b.time.replace(tzinfo=None))
            line.open[0], line.high[0], line.low[0], line.close[0] = b.open, b.high, b.low, b.close
            line.volume[0] = b.volume
            line.openinterest[0] = 0.0
            return True

    class Sma(bt.Strategy):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            fast = bt.ind.SMA(self.data.close, period=10)
            slow = bt.ind.SMA(self.data.close, period=30)
            self.cross = bt.ind.CrossOver(fast, slow)
            self.atr = bt.ind.SMA(bt.ind.TrueRange(self.data), period=14)
            self.entries = 0

        def next(self) -> None:
            c = self.cross[0]
            if not c:
                return
            price, dist = self.data.close[0], self.atr[0]
            if c > 0:
                self.buy_bracket(
                    size=1,
                    exectype=bt.Order.Market,
                    stopprice=price - 1.5 * dist,
                    limitprice=price + 3.0 * dist,
                )
            else:
                self.sell_bracket(
                    size=1,
                    exectype=bt.Order.Market,
                    stopprice=price + 1.5 * dist,
                    limitprice=price - 3.0 * dist,
                )

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed and order.exectype == bt.Order.Market:
                self.entries += 1

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(ListFeed(rows=bars, timeframe=bt.TimeFrame.Minutes, compression=5))
    cerebro.addstrategy(Sma)
    cerebro.broker.set_coc(True)
    cerebro.broker.setcash(1e12)
    started = time.perf_counter()
    strat = cerebro.run()[0]
    return time.perf_counter() - started, strat.entries


def run_hostapp(bars: list[Bar], state: Path, *, dtms: bool) -> tuple[float, int]:
    """Seconds of the replay loop (startup to shutdown) and the trades opened."""
    config = appmod.with_data_root(load_config(None), state)
    # an account that never runs dry and a fixed lot, as backtrader's: with the default
    # 10,000 and risk sizing the losing strategy empties the account and its later
    # orders are refused, which is not what is compared here
    config = dataclasses.replace(
        config,
        host=dataclasses.replace(config.host, paper={**config.host.paper, "balance": 1e12}),
        plugin_tables={
            **config.plugin_tables,
            "sma_strategy": {**config.table_for("sma_strategy"), "sizing": "fixed", "volume": 1.0},
        },
    )
    if not dtms:
        config = appmod.without_plugin(config, "dtms")
    app = appmod.build_sim_app(config, {SYMBOL: bars}, base_timeframe="M5", timeframe="M5")
    started = time.perf_counter()
    stats = asyncio.run(drive(app, progress=None))
    elapsed = time.perf_counter() - started
    trades = run_summary(app, stats, {})["trades"]
    assert isinstance(trades, int)
    return elapsed, trades


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bars", type=int, nargs="?", help=f"M5 bars (default {BARS:,})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BARS:,} bars")
    args = parser.parse_args()
    count = args.bars if args.bars is not None else QUICK_BARS if args.quick else BARS
    bars = generate_bars(SYMBOL, START, count, seed=7)
    bt_s, bt_trades = run_backtrader(bars)
    with tempfile.TemporaryDirectory(prefix="hostapp-peer-") as tmp:
        off_s, off_trades = run_hostapp(bars, Path(tmp) / "off", dtms=False)
        on_s, on_trades = run_hostapp(bars, Path(tmp) / "on", dtms=True)
    bt_bps, off_bps, on_bps = count / bt_s, count / off_s, count / on_s
    print(f"{count} M5 bars of {SYMBOL}, SMA 10/30 cross, SL 1.5 / TP 3 × ATR(14)")
    print(f"backtrader:          {bt_bps:10,.0f} bars/s  {bt_trades} entries")
    print(
        f"hostapp, DTMS off:   {off_bps:10,.0f} bars/s  {off_trades} entries  "
        f"({off_bps / bt_bps:.2f}× backtrader; goal ≥ 5×)"
    )
    print(
        f"hostapp, DTMS on:    {on_bps:10,.0f} bars/s  {on_trades} entries  "
        f"({on_bps / bt_bps:.2f}× backtrader; goal ≥ 2×)"
    )
    diff = abs(off_trades - bt_trades) / max(bt_trades, 1)
    agree = diff <= TOLERANCE
    print(
        f"entries agree within {TOLERANCE:.0%}: {'yes' if agree else 'NO'} "
        f"({diff:.1%} apart; see the fill rules in this script's docstring)"
    )
    print(
        json.dumps(
            {
                "bars": count,
                "backtrader_bars_per_s": round(bt_bps),
                "hostapp_off_bars_per_s": round(off_bps),
                "hostapp_on_bars_per_s": round(on_bps),
                "backtrader_trades": bt_trades,
                "hostapp_trades": off_trades,
                "hostapp_on_trades": on_trades,
                "ratio_off_to_backtrader": round(off_bps / bt_bps, 2),
                "ratio_on_to_backtrader": round(on_bps / bt_bps, 2),
                "trades_apart": round(diff, 4),
                "trades_agree": agree,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
