"""A trade's realised result in DTMS's record is what the broker booked for it: its partial
closes and its hedges included (docs/dtms.md §7). The account rails sum these results;
with only the last closing deal counted, a day that lost 3 % of the balance read as 0.8 %
and new entries went on."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from dtms_plugin.store import Store
from hostapp import app as appmod
from hostapp.config import load_config
from hostapp.driving import drive
from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]
#: the dashboard demo's settings: wide stops and no trailing stop, so trades live long
#: enough for the ladder's partial closes and hedges
DEMO = """
[plugin.sma_strategy]
sl_atr = 6.0
tp_atr = 12.0
"""


def test_each_records_result_is_every_deal_of_its_trade_and_hedges(tmp_path: Path) -> None:
    shipped = (ROOT / "plugins.toml").read_text()
    text = shipped.replace("[plugin.dtms]\n", "[plugin.dtms]\ntrail.enabled = false\n", 1)
    (tmp_path / "plugins.toml").write_text(text + DEMO)
    config = appmod.with_data_root(load_config(tmp_path / "plugins.toml"), tmp_path)
    start = datetime(2024, 3, 4, tzinfo=UTC)
    series = {"XAUUSD": generate_bars("XAUUSD", start, 6_000, seed=5)}
    app = appmod.build_sim_app(config, series, base_timeframe="M5", timeframe="M5")
    asyncio.run(drive(app, progress=None))

    booked: dict[int, list[float]] = defaultdict(list)  # trade -> its deals and its hedges'
    for deal in app.broker.history():  # type: ignore[attr-defined]
        comment = deal.trade.comment
        owner = (
            int(comment.removeprefix("DTMS_HEDGE_"))
            if comment.startswith("DTMS_HEDGE_")
            else deal.trade.ticket
        )
        booked[owner].append(deal.trade.profit)
    with Store(tmp_path / "dtms") as store:
        records = store.records()
    results = {
        t: r["realised_profit"] for t, r in records.items() if r.get("realised_profit") is not None
    }
    assert len(results) > 30
    several = [t for t in results if len(booked[t]) > 1]  # a partial close or a hedge
    assert len(several) > 10, "the run took too few partial closes and hedges to test"
    wrong = {
        t: (results[t], round(sum(booked[t]), 2))
        for t in results
        if abs(results[t] - sum(booked[t])) > 0.011
    }
    assert wrong == {}
