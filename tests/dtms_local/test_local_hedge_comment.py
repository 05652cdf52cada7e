"""A hedge is DTMS's by its records, not by its comment alone (docs/dtms.md §8).

The broker gives the position a hedge opens the comment ``DTMS_HEDGE_<ticket>``, and DTMS
once took any trade with that comment for one of its hedges: never registered, never
defended, its losses never counted by the account rails. A plugin whose orders carried
the comment then traded past DTMS altogether (1,152 trades opened where the same orders
without it opened 64, the rest vetoed by the account's defensive mode; 731 left open). A
trade the host announces is now a hedge only when a record names it (its ticket) or a
hedge is in flight for the trade its comment names; adoption, after the records were
lost, still has only the comment to go by (tests/dtms_local/test_local_adoption.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus
from hookspecs import ActionKind, OrderRequest, hookimpl
from hostapp import app as appmod
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.market.synthetic import generate_bars

BARS = 3_000
START = datetime(2024, 3, 4, tzinfo=UTC)


async def test_a_trade_that_carries_the_comment_on_its_own_is_registered(rig: Rig) -> None:
    spoof = replace(trade(ticket=55, direction="sell"), comment="DTMS_HEDGE_1")
    await rig.strategy.on_trade_executed(rig.host, spoof)
    assert list(rig.strategy.records) == [55]
    named = replace(trade(ticket=56), comment="DTMS_HEDGE_fake")
    await rig.strategy.on_trade_executed(rig.host, named)
    assert list(rig.strategy.records) == [55, 56]


@pytest.mark.parametrize("tail", ["\u00b2", "9" * 5000])
async def test_a_comment_whose_tail_int_refuses_is_registered_not_a_crash(
    rig: Rig, tail: str
) -> None:
    """``"²"`` is a digit to ``str.isdigit`` but no number to ``int``, and 5,000 digits are
    past Python's limit for ``int``: each raised, so the trade (and the whole batch it
    came in) was never registered and never defended."""
    odd = replace(trade(ticket=57, direction="sell"), comment=f"DTMS_HEDGE_{tail}")
    await rig.strategy.on_trade_executed(rig.host, odd)
    assert list(rig.strategy.records) == [57]


async def test_its_own_hedge_announced_again_is_no_trade_of_its_own(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(36)  # HEDGED: the hedge is ticket 1000 (test_local_ladder.py)
    hedge = rig.broker.open_positions[1000]
    assert rig.strategy.records[1].hedge_ticket == 1000
    await rig.strategy.on_trade_executed(rig.host, hedge)
    await rig.strategy.on_trade_executed(rig.host, replace(hedge, comment=""))  # rewritten
    assert list(rig.strategy.records) == [1]


async def test_a_hedge_in_flight_is_known_by_the_trade_its_comment_names(rig: Rig) -> None:
    await rig.open_buy()
    rig.broker.apply_then_timeout.add("hedge")  # opened, but the answer is lost
    await rig.cycles(36)
    rec = rig.strategy.records[1]
    hedges = [e for e in rec.journal if e.kind is ActionKind.HEDGE]
    assert [e.status for e in hedges] == [JournalStatus.UNKNOWN] and rec.hedge_ticket is None
    hedge = rig.broker.open_positions[1000]
    await rig.strategy.on_trade_executed(rig.host, hedge)
    assert list(rig.strategy.records) == [1]
    # the same comment on the trade's own side is no hedge of it: a trade
    same_side = replace(hedge, ticket=1001, direction="buy")
    await rig.strategy.on_trade_executed(rig.host, same_side)
    assert list(rig.strategy.records) == [1, 1001]


async def test_the_accounts_defensive_mode_vetoes_an_order_whatever_its_comment(
    rig: Rig,
) -> None:
    now = rig.clock.now()
    rig.strategy.store.put_account_mode(now + timedelta(hours=1), "3 stops in a row")
    order = OrderRequest("XAUUSD", "buy", 0.1, comment="DTMS_HEDGE_1", source="other")
    veto = rig.strategy.allow_order(rig.host, order)
    assert veto is not None and veto.kind == "DTMS account defensive mode"


class Proposer:
    """Proposes a buy every 50 bars, each with the comment it was given."""

    def __init__(self, comment: str) -> None:
        self.comment = comment
        self.calls = 0

    @hookimpl
    def propose_orders(self, symbol: str, bars: Any) -> list[OrderRequest]:
        self.calls += 1
        if self.calls % 50 or not bars:
            return []
        px = bars[-1].close
        order = OrderRequest(symbol, "buy", 0.1, px * 0.99, px * 1.02, comment=self.comment)
        return [order]


def _replay(root: Path, comment: str) -> dict[str, Any]:
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"]}, "plugins": {"disabled": ["sma_strategy"]}}
    )
    config = appmod.with_data_root(config, root)
    series = {"XAUUSD": generate_bars("XAUUSD", START, BARS, seed=3)}
    app = appmod.build_sim_app(
        config, series, base_timeframe="M5", builtins={"proposer": Proposer(comment)}
    )
    stats = asyncio.run(drive(app, progress=None))
    return run_summary(app, stats, {})


@pytest.mark.parametrize("comment", ["DTMS_HEDGE_fake", "DTMS_HEDGE_1"])
def test_an_order_with_the_comment_is_treated_as_any_other(tmp_path: Path, comment: str) -> None:
    plain = _replay(tmp_path / "plain", "")
    spoof = _replay(tmp_path / "spoof", comment)
    keys = ("trades", "orders_proposed", "orders_vetoed", "positions_open_at_end", "pnl")
    assert plain["orders_vetoed"] > 0  # the account's defensive mode had a say
    assert {k: spoof[k] for k in keys} == {k: plain[k] for k in keys}
    assert spoof["plugin_reports"]["dtms"]["trades"] == plain["plugin_reports"]["dtms"]["trades"]
