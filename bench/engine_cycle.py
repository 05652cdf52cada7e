"""How fast the DTMS engine is: one monitoring cycle, and a one-symbol replay.

* ``cycle_ms_1000`` / ``cycle_ms_10000``: one cycle with 1,000 (10,000) open trades spread
  over 20 symbols, with a new closed M5 *and* M15 bar on every symbol (the worst case):
  feed the bars to each symbol's indicators once, build its snapshot, evaluate every trade
  (all armed, all due for scoring), and journal the planned actions as done. Pure engine:
  no store, no broker. Median of several cycles after a warm-up.
* ``replay_bars_per_s``: M5 bars per second for one symbol through the indicators, the
  snapshot and the evaluation of one open trade (re-opened whenever the engine closes
  it), as a replay runs it: the indicators computed ahead over the whole series
  (``ReplayIndicators``, the numpy pass included in the time), then per bar the snapshot,
  score and state machine. ``replay_incremental_bars_per_s``: the same with the live
  path's bar-by-bar indicators (M15 fed every third bar).
* ``store_ms_1000``: for scale, persisting 1,000 records plus their state-cache entries
  in the diskcache store, one write each (what the local strategy once did after a cycle
  that changed them); ``store_cycle_ms_1000`` the same as the local strategy writes a
  cycle now: every record changed (scored on a new bar), serialised once
  (``record_encoding.record_json``), records and states in one ``Store.batch`` transaction
  (target ≤ 20 ms); ``states_each_ms_1000`` / ``states_batch_ms_1000`` the
  state refresh of an idle cycle, per trade / batched; ``states_idle_ms_1000`` the same
  refresh as the strategy makes it (``local_writes.PendingWrites``) with the clock
  standing: the stamps it wrote already are not written again.
* ``insert_growth_10000``: registering trades must not cost more as they pile up: the
  time to insert the last 2,000 of 10,000 records one by one (a transaction each) over
  the time of the first 2,000 (target ≤ 1.5).
* ``replay_stage_us``: µs per bar of the replay, cumulative: indicators, + snapshot,
  + score, all (= 1e6 / ``replay_bars_per_s``).
* ``replay_open_30pct_bars_per_s``: the replay with a trade opened every 80 bars and
  dropped after 24, or when the engine closes it (open ≤ 30 % of the bars); flat bars
  cost only the indicators.

Prints the figures; the last line is JSON. ``--quick``: every figure at a tenth of the
trades and a twentieth of the bars, under the same keys (seconds, for
tests/test_bench_scripts.py; not comparable with the targets).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dtms_plugin.engine import (
    AccountState,
    ReplayIndicators,
    SymbolIndicators,
    TradeRecord,
    begin,
    evaluate,
    finish,
    register,
)
from dtms_plugin.settings import DtmsSettings
from hookspecs import ActionResult, Bar, Direction, Quote, SymbolInfo, Trade

SETTINGS = DtmsSettings()
START = datetime(2026, 1, 5, tzinfo=UTC)
M5 = timedelta(minutes=5)
HISTORY = 1_200  # M5 bars of warm-up per symbol (400 M15 bars)
OK = ActionResult.success(new_ticket=9_999_999)


def walk(n: int, seed: int, price: float) -> list[Bar]:
    """A seeded random walk with slow regime swings: trends, ranges, shocks."""
    rnd = random.Random(seed)
    out: list[Bar] = []
    p = price
    for i in range(n):
        drift = 0.3 * math.sin(i / 400.0) * price / 2000.0
        o = p
        c = max(price * 0.2, o + drift + rnd.gauss(0.0, price / 2000.0))
        h = max(o, c) + abs(rnd.gauss(0.0, price / 5000.0))
        lo = min(o, c) - abs(rnd.gauss(0.0, price / 5000.0))
        out.append(Bar(START + M5 * i, o, h, lo, c, 50 + rnd.random() * 100, price / 10000.0))
        p = c
    return out


def m15(fast: list[Bar]) -> list[Bar]:
    return [
        Bar(
            g[0].time,
            g[0].open,
            max(b.high for b in g),
            min(b.low for b in g),
            g[-1].close,
            sum(b.volume for b in g),
        )
        for g in (fast[i : i + 3] for i in range(0, len(fast) - 2, 3))
    ]


class Book:
    """20 symbols, their indicators, and ``n`` armed trades spread over them."""

    def __init__(self, n_trades: int, n_symbols: int = 20, cycles: int = 12) -> None:
        self.symbols = [f"SYM{i:02d}" for i in range(n_symbols)]
        total = HISTORY + cycles * 3 + 3
        self.fast = {s: walk(total, i, 100.0 * (i + 1)) for i, s in enumerate(self.symbols)}
        self.infos = {s: SymbolInfo(s, 2, 0.01, 0.01, 0.01, 100.0) for s in self.symbols}
        self.ind = {s: SymbolIndicators(s, SETTINGS) for s in self.symbols}
        self.cursor = HISTORY
        for s in self.symbols:
            bars = self.fast[s][:HISTORY]
            for b in bars:
                self.ind[s].feed_fast(b)
            for b in m15(bars):
                self.ind[s].feed_signal(b)
        self.records: list[TradeRecord] = []
        rnd = random.Random(1)
        now = START + M5 * HISTORY
        for t in range(n_trades):
            s = self.symbols[t % n_symbols]
            price = self.fast[s][HISTORY - 1].close
            direction: Direction = "buy" if rnd.random() < 0.5 else "sell"
            sign = 1 if direction == "buy" else -1
            trade = Trade(
                t + 1,
                s,
                direction,
                1.0,
                price,
                price - sign * price / 200,
                None,
                now - timedelta(hours=1),
            )
            self.records.append(replace(register(trade, None, now), armed=True))
        self.account = AccountState(hedging=True)

    def cycle(self) -> tuple[float, int]:
        """One cycle: new M5 bars (an M15 bar closes too) on every symbol, every trade
        evaluated. Returns (seconds, actions planned)."""
        c = self.cursor
        self.cursor += 3
        t0 = time.perf_counter()
        snaps = {}
        quotes = {}
        now = self.fast[self.symbols[0]][c + 2].time + M5
        for s in self.symbols:
            ind = self.ind[s]
            new = self.fast[s][c : c + 3]
            for b in new:
                ind.feed_fast(b)
            ind.feed_signal(m15(new)[0])
            snaps[s] = ind.snapshot()
            last = new[-1].close
            quotes[s] = Quote(s, last - 0.01, last + 0.01, now)
        n_actions = 0
        records = self.records
        for i, rec in enumerate(records):
            s = rec.symbol
            e = evaluate(rec, snaps[s], quotes[s], now, SETTINGS, self.infos[s], self.account)
            rec = e.record
            for action in e.actions:
                rec = finish(begin(rec, action, now), action, OK, now, SETTINGS)
                n_actions += 1
            records[i] = rec
        return time.perf_counter() - t0, n_actions


def bench_cycle(n_trades: int, cycles: int = 9) -> tuple[float, int]:
    book = Book(n_trades, cycles=cycles + 1)
    book.cycle()  # warm-up: first scoring of every trade
    runs = [book.cycle() for _ in range(cycles)]
    return statistics.median(r[0] for r in runs) * 1000.0, sum(r[1] for r in runs)


def bench_replay(n_bars: int = 100_000, stage: str = "all", hold: int = 0, every: int = 0) -> float:
    """M5 bars per second. ``stage`` stops after "indicators", "snapshot" or "score"
    (for the per-stage figures); ``hold``/``every`` > 0: a trade is opened every
    ``every`` bars and given up after ``hold`` bars (a strategy that is flat most of
    the time) instead of one trade always open."""
    fast = walk(n_bars + 3, 42, 2000.0)
    slow = m15(fast)
    info = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0)
    account = AccountState(hedging=True)
    quotes = [Quote("XAUUSD", b.close - 0.1, b.close + 0.1, b.time + M5) for b in fast]
    ind = SymbolIndicators("XAUUSD", SETTINGS)
    ticket = 1
    depth = ("indicators", "snapshot", "score", "all").index(stage)

    def new_trade(i: int) -> TradeRecord:
        b = fast[i]
        t = Trade(ticket, "XAUUSD", "buy", 1.0, b.close, b.close - 5.0, None, b.time + M5)
        return register(t, None, b.time + M5)

    rec: TradeRecord | None = new_trade(0)
    opened = 0
    t0 = time.perf_counter()
    for i in range(n_bars):
        b = fast[i]
        ind.feed_fast(b)
        if i % 3 == 2:
            ind.feed_signal(slow[i // 3])
        if every:
            if rec is not None and i - opened >= hold:
                rec = None  # the strategy closed it: the engine has nothing to do
            if rec is None and i % every == 0:
                ticket += 1
                rec, opened = new_trade(i), i
            if rec is None:
                continue
        if depth == 0:
            continue
        snap = ind.snapshot()
        if depth < 3:
            if depth == 2 and snap is not None:
                snap.score("buy")
            continue
        assert rec is not None
        now = b.time + M5
        e = evaluate(rec, snap, quotes[i], now, SETTINGS, info, account)
        rec = e.record
        for action in e.actions:
            rec = finish(begin(rec, action, now), action, OK, now, SETTINGS)
        if not rec.active:
            if every:
                rec = None  # flat until the strategy's next entry
            else:
                ticket += 1
                rec, opened = new_trade(i), i
    return n_bars / (time.perf_counter() - t0)


def bench_replay_ahead(n_bars: int = 100_000) -> float:
    """M5 bars per second of :func:`bench_replay` with the replay's indicators computed
    ahead (the numpy pass counted) instead of fed bar by bar."""
    fast = walk(n_bars + 3, 42, 2000.0)
    slow = m15(fast)
    info = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0)
    account = AccountState(hedging=True)
    quotes = [Quote("XAUUSD", b.close - 0.1, b.close + 0.1, b.time + M5) for b in fast]
    closes = [b.time + M5 for b in fast]
    slow_closes = [b.time + 3 * M5 for b in slow]
    ticket = 1

    def new_trade(i: int) -> TradeRecord:
        b = fast[i]
        t = Trade(ticket, "XAUUSD", "buy", 1.0, b.close, b.close - 5.0, None, b.time + M5)
        return register(t, None, b.time + M5)

    rec = new_trade(0)
    t0 = time.perf_counter()
    ind = ReplayIndicators("XAUUSD", SETTINGS, fast, closes, slow, slow_closes)
    for i in range(n_bars):
        now = closes[i]
        ind.advance(now)
        snap = ind.snapshot()
        e = evaluate(rec, snap, quotes[i], now, SETTINGS, info, account)
        rec = e.record
        for action in e.actions:
            rec = finish(begin(rec, action, now), action, OK, now, SETTINGS)
        if not rec.active:
            ticket += 1
            rec = new_trade(i)
    return n_bars / (time.perf_counter() - t0)


def bench_store(records: list[TradeRecord]) -> dict[str, float]:
    """Store costs for 1,000 trades, in ms: ``store_ms_1000`` every record and its state
    one write each (the local strategy's cycle after a new bar, before batching);
    ``store_cycle_ms_1000`` every record plus one ``put_states`` (the same cycle now);
    ``states_each_ms_1000`` / ``states_batch_ms_1000`` the state refresh alone (an idle
    cycle) one write per trade / one batch."""
    from dtms_plugin.book import TradeBook
    from dtms_plugin.local_writes import PendingWrites
    from dtms_plugin.record_encoding import record_json
    from dtms_plugin.store import Store

    now = START
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d, Store(Path(d) / "dtms") as store:
        t0 = time.perf_counter()
        for rec in records:
            store.put_record(rec.ticket, rec.to_json())
            store.put_state(rec.ticket, rec.state.value, now)
        out["store_ms_1000"] = (time.perf_counter() - t0) * 1000.0
        cycles = []
        for n in range(1, 8):  # the median of a few: one commit is noisy
            # every record changed since the last cycle (scored on a new bar), as the
            # local strategy writes them: serialised once, one transaction
            at = now + M5 * n
            changed = [r.evolve(last_eval_at=at) for r in records]
            t0 = time.perf_counter()
            with store.batch():
                store.put_records({r.ticket: record_json(r, at) for r in changed})
                store.put_states({r.ticket: r.state.value for r in changed}, at)
            cycles.append(time.perf_counter() - t0)
        out["store_cycle_ms_1000"] = statistics.median(cycles) * 1000.0
        t0 = time.perf_counter()
        for rec in records:
            store.put_state(rec.ticket, rec.state.value, now)
        out["states_each_ms_1000"] = (time.perf_counter() - t0) * 1000.0
        t0 = time.perf_counter()
        store.put_states({rec.ticket: rec.state.value for rec in records}, now)
        out["states_batch_ms_1000"] = (time.perf_counter() - t0) * 1000.0
        book = TradeBook()
        for rec in records:
            book.put(rec)
        writes = PendingWrites(book, logging.getLogger("bench"))
        spans = []
        for _ in range(4):  # the first stamps; the others find the clock standing
            t0 = time.perf_counter()
            writes.states(book.open_states(), now)
            writes.flush(store)
            spans.append(time.perf_counter() - t0)
        out["states_idle_ms_1000"] = statistics.median(spans[1:]) * 1000.0
    return out


def bench_insert_growth(record: TradeRecord, total: int = 10_000, window: int = 2_000) -> float:
    """Time of inserting the last ``window`` of ``total`` new records one by one, over the
    time of the first ``window``: 1.0 when a registration costs the same however many
    trades the store already holds."""
    from dtms_plugin.store import Store

    data = record.to_json()
    rows = [{**data, "ticket": t} for t in range(1, total + 1)]
    with tempfile.TemporaryDirectory() as d, Store(Path(d) / "dtms") as store:
        spans = []
        t0 = time.perf_counter()
        for i, row in enumerate(rows, start=1):
            store.put_record(i, row)
            if i in (window, total - window, total):
                spans.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
    return spans[2] / spans[0]


def main(quick: bool = False) -> int:
    # the figures' sizes: trades of the two cycles (and of the store's), replayed bars,
    # records inserted and the window compared; --quick keeps the keys, not the sizes
    small, large = (100, 1_000) if quick else (1_000, 10_000)
    bars = 5_000 if quick else 100_000
    inserts, window = (1_000, 200) if quick else (10_000, 2_000)
    if quick:
        print("--quick: small sizes, figures not comparable with the targets")
    ms_1000, actions_1000 = bench_cycle(small)
    print(
        f"cycle, {small:,} trades / 20 symbols: {ms_1000:8.1f} ms  (target ≤ 50 ms; "
        f"{actions_1000} actions planned over the timed cycles)"
    )
    ms_10000, actions_10000 = bench_cycle(large, cycles=5)
    print(
        f"cycle, {large:,} trades / 20 symbols: {ms_10000:7.1f} ms  (target ≤ 500 ms; "
        f"{actions_10000} actions planned)"
    )
    ahead_bps = bench_replay_ahead(bars)
    print(
        f"replay, one symbol, indicators computed ahead + engine: {ahead_bps:,.0f} M5 bars/s"
        "  (target ≥ 200,000)"
    )
    bps = bench_replay(bars)
    print(f"replay, one symbol, indicators fed bar by bar + engine: {bps:,.0f} M5 bars/s")
    stages = {
        k: 1e6 / bench_replay(bars // 2, stage=k) for k in ("indicators", "snapshot", "score")
    }
    stages["all"] = 1e6 / bps
    print("  µs per bar, cumulative: " + ", ".join(f"+{k} {v:.2f}" for k, v in stages.items()))
    flat_bps = bench_replay(bars, hold=24, every=80)
    print(f"replay, a trade open ≤ 24 bars in every 80 (≤ 30 %): {flat_bps:,.0f} M5 bars/s")
    book = Book(small, cycles=1)
    store = bench_store(book.records)
    print(
        f"store, persist {small:,} records + states: {store['store_ms_1000']:.0f} ms one write "
        f"each, {store['store_cycle_ms_1000']:.0f} ms with one state batch; state refresh "
        f"alone {store['states_each_ms_1000']:.0f} ms → {store['states_batch_ms_1000']:.0f} ms"
        f", {store['states_idle_ms_1000']:.1f} ms with the clock standing (not in the cycle"
        " figure)"
    )
    growth = bench_insert_growth(book.records[0], inserts, window)
    print(
        f"store, inserting {inserts:,} records one by one: the last {window:,} take "
        f"{growth:.2f}× the time of the first {window:,} (target ≤ 1.5)"
    )
    print(
        json.dumps(
            {
                "cycle_ms_1000": round(ms_1000, 2),
                "cycle_ms_10000": round(ms_10000, 2),
                "replay_bars_per_s": round(ahead_bps),
                "replay_incremental_bars_per_s": round(bps),
                "store_ms_1000": round(store["store_ms_1000"], 1),
                "replay_stage_us": {k: round(v, 2) for k, v in stages.items()},
                "replay_open_30pct_bars_per_s": round(flat_bps),
                "store_cycle_ms_1000": round(store["store_cycle_ms_1000"], 1),
                "states_each_ms_1000": round(store["states_each_ms_1000"], 1),
                "states_batch_ms_1000": round(store["states_batch_ms_1000"], 1),
                "states_idle_ms_1000": round(store["states_idle_ms_1000"], 2),
                "insert_growth_10000": round(growth, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, the same keys")
    raise SystemExit(main(parser.parse_args().quick))
