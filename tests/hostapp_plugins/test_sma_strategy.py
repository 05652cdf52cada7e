"""The example plugin: its strategy, its settings, its discovery as an installed entry
point, and that a broken copy of it cannot hurt anything else."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from sma_strategy import plugin as sma
from support.hostapp_plugin_doubles import Boom, Recorder

from hookspecs import ConfigError, OrderRequest, Trade, hookimpl
from hostapp.config import config_from_dict
from hostapp.loader import load_plugins
from hostapp.testing import T0, bars_from_closes

UP = [100.0] * 30 + [99.0, 98.0, 97.0, 96.0, 100.0, 104.0, 108.0]  # falls, then rallies
DOWN = [100.0] * 30 + [101.0, 102.0, 103.0, 104.0, 100.0, 96.0, 92.0]
SETTINGS = {
    "fast": 3,
    "slow": 10,
    "sizing": "fixed",
    "volume": 0.05,
    "atr_period": 5,
    "sl_atr": 1.5,
    "tp_atr": 3.0,
}


@pytest.fixture(autouse=True)
def _default_settings() -> Iterator[None]:
    yield
    sma.settings = sma.Settings()  # configure sets module globals; leave them as found
    sma.activity = sma.Activity()


def first_cross(closes: list[float], fast: int, slow: int, want: str) -> int:
    """How many closes it takes for the first ``want`` cross."""
    for i in range(slow + 1, len(closes) + 1):
        if sma.signal(closes[:i], fast, slow) == want:
            return i
    raise AssertionError(f"no {want} cross in {closes}")


def test_signal_is_a_cross_not_a_state() -> None:
    assert sma.signal([1.0] * 5, 2, 4) is None
    assert sma.signal([5.0, 4.0, 3.0, 2.0, 1.0, 9.0], 2, 4) == "buy"
    assert sma.signal([1.0, 2.0, 3.0, 4.0, 5.0, 0.5], 2, 4) == "sell"
    assert sma.signal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 4) is None  # above, no new cross
    assert sma.signal([1.0, 2.0], 2, 4) is None  # not enough closes


async def test_propose_orders_buys_a_golden_cross_with_atr_stops(hostapp_factory: Any) -> None:
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": SETTINGS}})
    cross = first_cross(UP, 3, 10, "buy")
    bars = bars_from_closes(UP[:cross])
    host.broker.set_price("XAUUSD", bars[-1].close)  # no spread: a buy fills at the close
    got = await host.plugins.propose_orders(host, "XAUUSD", bars, T0)
    assert len(got) == 1
    name, order = got[0]
    assert name == "sma_strategy" and order.source == "sma_strategy"
    distance = sma.atr(bars, 5)
    price = bars[-1].close
    assert order.direction == "buy" and order.volume == 0.05 and order.symbol == "XAUUSD"
    assert order.stop_loss == pytest.approx(price - 1.5 * distance)
    assert order.take_profit == pytest.approx(price + 3.0 * distance)
    # One bar later the averages are still crossed, but there is no new cross.
    more = bars_from_closes(UP[: cross + 1])
    assert await host.plugins.propose_orders(host, "XAUUSD", more, T0) == []


def test_propose_orders_sells_a_dead_cross(hostapp_factory: Any) -> None:
    host = hostapp_factory({})
    sma.settings = sma.Settings(fast=3, slow=10, atr_period=5)
    cross = first_cross(DOWN, 3, 10, "sell")
    host.broker.set_price("EURUSD", DOWN[cross - 1])
    (order,) = sma.propose_orders(host, "EURUSD", bars_from_closes(DOWN[:cross]))
    assert order.direction == "sell"
    assert order.stop_loss is not None and order.take_profit is not None
    assert order.take_profit < order.stop_loss
    assert sma.propose_orders(host, "EURUSD", bars_from_closes(DOWN[:5])) == []  # too short


async def test_without_a_quote_a_buy_is_measured_from_the_close_plus_the_spread(
    hostapp_factory: Any,
) -> None:
    """A broker without a quote for the symbol: the bar's close is the bid, and a buy
    fills a spread above it, where its stop and target are measured from."""
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": SETTINGS}})
    bars = bars_from_closes(UP[: first_cross(UP, 3, 10, "buy")], spread=0.5)
    assert host.broker.quote("GBPUSD") is None
    ((_, order),) = await host.plugins.propose_orders(host, "GBPUSD", bars, T0)
    ask, distance = bars[-1].close + 0.5, sma.atr(bars, 5)
    assert order.stop_loss == pytest.approx(ask - 1.5 * distance)
    assert order.take_profit == pytest.approx(ask + 3.0 * distance)


def test_a_bad_tick_that_puts_the_target_below_zero_is_no_order(hostapp_factory: Any) -> None:
    """One high a hundred times the price makes the ATR so wide that a sell's target
    (price − 3 ATR) is below zero: no order, rather than an OrderRequest that raises."""
    from dataclasses import replace

    host = hostapp_factory({})
    sma.settings = sma.Settings(fast=3, slow=10, atr_period=5)
    bars = bars_from_closes(DOWN[: first_cross(DOWN, 3, 10, "sell")])
    bars[-3] = replace(bars[-3], high=bars[-3].high * 100)
    assert sma.propose_orders(host, "EURUSD", bars) == []


async def test_a_run_without_an_order_says_why(hostapp_factory: Any) -> None:
    """The report counts the orders; with none, its note says whether the bars were too
    few for the averages or the averages never crossed."""
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": SETTINGS}})
    assert host.plugins.run_report(host)["sma_strategy"] == {"orders": 0}  # never asked
    for n in (4, 9):
        await host.plugins.propose_orders(host, "XAUUSD", bars_from_closes(UP[:n]), T0)
    report = host.plugins.run_report(host)["sma_strategy"]
    assert report == {
        "orders": 0,
        "note": "no order: the 3/10 cross and ATR(5) need 11 bars of a symbol, and the run "
        "had at most 9",
    }
    flat = bars_from_closes([100.0] * 40)
    for n in (20, 30, 40):
        await host.plugins.propose_orders(host, "XAUUSD", flat[:n], T0)
    report = host.plugins.run_report(host)["sma_strategy"]
    assert (
        report["note"] == "no order: the 3/10 averages never crossed in 3 bars with enough history"
    )
    cross = first_cross(UP, 3, 10, "buy")
    await host.plugins.propose_orders(host, "XAUUSD", bars_from_closes(UP[:cross]), T0)
    assert host.plugins.run_report(host)["sma_strategy"] == {"orders": 1}


def test_risk_sizing_loses_the_risk_share_at_the_stop() -> None:
    from hookspecs import SymbolInfo

    gold = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, contract_size=100.0)
    # 1 % of 10,000 = 100; a stop 5.0 away costs 500 a lot: 0.2 lots
    assert sma.risk_volume(10_000.0, 500.0, gold, 0.01) == 0.2
    assert sma.risk_volume(10_000.0, 700.0, gold, 0.01) == 0.14  # 0.1428… floored to the step
    assert sma.risk_volume(100.0, 700.0, gold, 0.01) == 0.01  # never below the minimum lot
    assert sma.risk_volume(10**9, 50.0, gold, 0.01) == 100.0  # nor above the maximum
    assert sma.risk_volume(10_000.0, 0.0, gold, 0.01) == 0.01  # a stop that costs nothing


def test_risk_sizing_asks_the_broker_what_a_yen_move_is_worth() -> None:
    """A stop 0.2 away on USDJPY costs 20,000 yen a lot, about 133 dollars: only the
    broker knows the rate (hookspecs.ProfitCalculator). Sized from it, the stop loses
    1 % of the balance; taken as dollars, the lots were 150 times too few."""
    from hostapp.brokers.paper import PaperBroker
    from hostapp.testing import MemoryBroker

    paper = PaperBroker()
    yen = paper.symbol_info("USDJPY")
    assert yen is not None
    per_lot = sma.loss_per_lot(paper, "USDJPY", "buy", 150.0, 149.8, yen)
    assert per_lot == pytest.approx(133.51)  # 0.2 × 100,000 / 149.8
    volume = sma.risk_volume(10_000.0, per_lot, yen, 0.01)
    assert volume == 0.74
    loss = paper.calc_profit("USDJPY", "buy", volume, 150.0, 149.8)
    assert loss is not None and -100.0 <= loss < -98.0
    sell = sma.loss_per_lot(paper, "USDJPY", "sell", 150.0, 150.2, yen)
    assert sell == pytest.approx(133.16)  # 0.2 × 100,000 / 150.2
    # a broker that cannot convert: the move times the contract size
    assert sma.loss_per_lot(MemoryBroker(), "USDJPY", "buy", 150.0, 149.8, yen) == (
        pytest.approx(20_000.0)
    )


async def test_risk_sizing_uses_the_balance_and_the_symbol(hostapp_factory: Any) -> None:
    table = {**SETTINGS, "sizing": "risk", "risk_per_trade": 0.02}
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": table}})
    bars = bars_from_closes(UP[: first_cross(UP, 3, 10, "buy")])
    ((_, order),) = await host.plugins.propose_orders(host, "XAUUSD", bars, T0)
    info = host.broker.symbol_info("XAUUSD")
    distance = 1.5 * sma.atr(bars, 5)
    per_lot = distance * info.contract_size  # the test broker cannot convert: dollars
    expected = sma.risk_volume(host.broker.account().balance, per_lot, info, 0.02)
    assert order.volume == expected and order.volume > info.volume_min


async def test_orders_the_minimum_lot_makes_risk_more_are_said(hostapp_factory: Any) -> None:
    """A 0.0001 % risk is below what 0.01 lot loses at the stop: the order goes at the
    minimum lot, and the report says how many risked more than asked, and how much."""
    table = {**SETTINGS, "sizing": "risk", "risk_per_trade": 0.000001}
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": table}})
    bars = bars_from_closes(UP[: first_cross(UP, 3, 10, "buy")])
    ((_, order),) = await host.plugins.propose_orders(host, "XAUUSD", bars, T0)
    info = host.broker.symbol_info("XAUUSD")
    assert order.volume == info.volume_min
    risked = info.volume_min * 1.5 * sma.atr(bars, 5) * info.contract_size / 10_000.0
    (report,) = host.plugins.run_report(host).values()
    assert report["orders_over_risk"] == 1
    assert report["note"].startswith(
        f"1 of 1 orders risked more than the 0.0001 % asked, up to {risked * 100:.1f} %: "
    )


async def test_orders_the_maximum_lot_makes_risk_less_are_said(hostapp_factory: Any) -> None:
    """10 % of the balance on a stop about 6 away is about 166 lots of a one-unit lot,
    and the symbol trades at most 100: the order risks less than asked, which the report
    says (how many, of which symbol, what share of the risk asked) as it says an order
    the minimum lot made risk more."""
    table = {**SETTINGS, "sizing": "risk", "risk_per_trade": 0.1}
    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": table}})
    bars = bars_from_closes(UP[: first_cross(UP, 3, 10, "buy")])
    ((_, order),) = await host.plugins.propose_orders(host, "XAUUSD", bars, T0)
    info = host.broker.symbol_info("XAUUSD")
    assert order.volume == info.volume_max == 100.0
    share = 100.0 * 1.5 * sma.atr(bars, 5) / 10_000.0 / 0.1  # of the risk asked
    assert 0.3 < share < 0.9
    (report,) = host.plugins.run_report(host).values()
    assert report["orders_capped"] == 1 and "orders_over_risk" not in report
    assert report["note"] == (
        "1 of 1 orders risked less than the 10 % asked: the symbol's maximum lot capped "
        f"them (XAUUSD 1 at its 100 lots, a median {share * 100:.1f} % of the risk asked, "
        f"the least {share * 100:.1f} %); that maximum is the broker's own"
    )


def test_the_capped_orders_name_the_paper_brokers_key_per_symbol() -> None:
    """On the paper broker the maximum is a guess or plugins.toml's: the note names the
    key to raise, in the table of each symbol (a name with a dot quoted, as TOML needs)."""
    sma.activity = sma.Activity(
        calls=900,
        orders=402,
        capped={"AAPL": [0.02, 0.5, 0.0014], "US500.cash": [0.25]},
        capped_at={"AAPL": 100.0, "US500.cash": 50.0},
        paper=True,
    )
    assert sma.run_report()["note"] == (
        "4 of 402 orders risked less than the 1 % asked: the symbol's maximum lot capped "
        "them (AAPL 3 at its 100 lots, a median 2.0 % of the risk asked, the least 0.14 %; "
        "US500.cash 1 at its 50 lots, a median 25.0 % of the risk asked, the least 25.0 %); "
        "raise the maximum (volume_max in a [host.paper.symbols.AAPL] table; volume_max in "
        'a [host.paper.symbols."US500.cash"] table of plugins.toml)'
    )


def test_a_lot_that_loses_less_than_a_cent_at_the_stop_is_sized_on_its_loss() -> None:
    """The paper broker answers a profit in cents: a share 0.45 cents from its stop lost
    0.00 a lot, and the order went at the minimum lot, 0.01 of a share, risking
    nothing. Asked for the most lots the symbol trades, the loss a lot is exact."""
    from hookspecs import SymbolInfo
    from hostapp.brokers.paper import PaperBroker

    stock = SymbolInfo("AAPL", 4, 0.0001, 0.01, 0.01, 100.0, contract_size=1.0)
    paper = PaperBroker(symbols={"AAPL": stock})
    assert paper.calc_profit("AAPL", "buy", 1.0, 0.1, 0.0955) == 0.0  # in cents
    per_lot = sma.loss_per_lot(paper, "AAPL", "buy", 0.1, 0.0955, stock)
    assert per_lot == pytest.approx(0.0045)
    assert sma.risk_volume(10_000.0, per_lot, stock, 0.01) == 100.0  # capped, not 0.01
    assert sma.loss_per_lot(paper, "AAPL", "buy", 0.1, 0.0991, stock) == pytest.approx(0.0009)


def test_the_counts_of_orders_over_risk_are_written_with_thousands_separators() -> None:
    """A long replay's note read "2184 of 7559 orders risked more": the host's figures
    say 7,559."""
    sma.activity = sma.Activity(calls=9000, orders=7559, over_risk=2184, worst_risk=1.248)
    note = sma.run_report()["note"]
    assert note.startswith("2,184 of 7,559 orders risked more than the 1 % asked, up to 124.8 %")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"fast": "3"}, r"\[plugin.sma_strategy\]: key 'fast': expected an integer"),
        ({"fats": 3}, r"\[plugin.sma_strategy\]: unknown key 'fats'"),
        ({"fast": 30, "slow": 10}, r"key 'slow': expected more than fast \(30\), got 10"),
        ({"volume": 0}, "key 'volume': expected a finite number > 0, got 0"),
        ({"sl_atr": -1}, "key 'sl_atr': expected a finite number > 0, got -1"),
        ({"tp_atr": 0}, "key 'tp_atr': expected a finite number > 0"),
        ({"tp_atr": float("inf")}, "key 'tp_atr': expected a finite number > 0, got inf"),
        ({"atr_period": 0}, "key 'atr_period': expected a finite number > 0"),
        ({"risk_per_trade": 0.5}, "key 'risk_per_trade': expected a share in"),
    ],
)
def test_bad_settings_stop_the_host(
    hostapp_factory: Any, table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": table}})


def test_on_trade_executed_logs_its_own_trades(hostapp_factory: Any, caplog: Any) -> None:
    host = hostapp_factory({"sma_strategy": sma})
    mine = Trade(3, "XAUUSD", "buy", 0.01, 2000.0, 1990.0, 2020.0, T0, comment="sma 10/30")
    theirs = Trade(4, "XAUUSD", "buy", 0.01, 2000.0, None, None, T0, comment="other")
    with caplog.at_level(logging.INFO, logger="hostapp"):
        sma.on_trade_executed(host, mine)
        sma.on_trade_executed(host, theirs)
    assert [r.getMessage() for r in caplog.records if "ticket" in r.getMessage()] == [
        "sma_strategy: buy XAUUSD 0.01 lots at 2000.0 (SL 1990.0, TP 2020.0), ticket 3"
    ]


def test_discovered_as_an_installed_entry_point() -> None:
    host = load_plugins(config_from_dict({}), builtins={}, env={})
    (row,) = [r for r in host.listing() if r.name == "sma_strategy"]
    assert (row.source, row.distribution, row.status) == ("entry point", "sma-strategy", "enabled")
    plugin = host.get("sma_strategy")  # a module entry point is the plugin: run afresh
    assert isinstance(plugin, ModuleType) and plugin.__name__ == sma.__name__


@pytest.mark.parametrize(
    ("config", "env"),
    [
        ({"plugins": {"disabled": ["sma_strategy"]}}, {}),
        ({}, {"HOSTAPP_DISABLE_PLUGINS": "sma_strategy"}),
    ],
)
def test_disabled_by_config_or_env(config: dict[str, Any], env: dict[str, str]) -> None:
    host = load_plugins(config_from_dict(config), builtins={}, env=env)
    assert {r.name: r.status for r in host.listing()}["sma_strategy"] == "disabled"
    assert host.get("sma_strategy") is None
    assert host.pm.is_blocked("sma_strategy")


async def test_a_raising_sma_strategy_breaks_nothing_else(
    hostapp_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hook it has (except configure, where raising stops the host by contract)."""

    @hookimpl(specname="propose_orders")
    def raising_propose(symbol: str) -> list[OrderRequest]:
        raise Boom("propose")

    @hookimpl(specname="on_trade_executed")
    async def raising_executed(trade: Trade) -> None:
        raise Boom("executed")

    # the patched module itself, not a fresh run of its file (hostapp.fresh)
    monkeypatch.setattr("hostapp.fresh.module_afresh", importlib.import_module)
    monkeypatch.setattr(sma, "propose_orders", raising_propose)
    monkeypatch.setattr(sma, "on_trade_executed", raising_executed)
    order = OrderRequest("XAUUSD", "buy", 0.1)
    other = Recorder(propose_orders=[order], is_defensive=False)
    host = hostapp_factory({"other": other}, installed=True)
    assert host.plugins.is_enabled("sma_strategy")
    trade = Trade(1, "XAUUSD", "buy", 0.1, 2000.0, None, None, T0)
    for _ in range(6):
        got = await host.plugins.propose_orders(host, "XAUUSD", bars_from_closes(UP), T0)
        assert got == [("other", OrderRequest("XAUUSD", "buy", 0.1, source="other"))]
        await host.plugins.on_trade_executed(host, trade)
        assert host.plugins.allow_order(host, order) is None
    statuses = {r.name: r.status for r in host.plugins.listing()}
    assert statuses["sma_strategy"] == "tripped" and statuses["other"] == "enabled"
    assert other.hooks_called().count("on_trade_executed") == 6

    def raising_configure(host: Any) -> None:
        raise Boom("configure")

    monkeypatch.setattr(sma, "configure", hookimpl(raising_configure))
    with pytest.raises(ConfigError, match="plugin 'sma_strategy': configure failed: Boom"):
        hostapp_factory({"other": Recorder()}, installed=True)


def test_a_bad_value_is_one_line_naming_file_table_and_key(tmp_path: Any) -> None:
    """As every configuration error of the project: one line, exit code 2."""
    import os
    import subprocess
    import sys

    (tmp_path / "plugins.toml").write_text("[plugin.sma_strategy]\nsl_atr = -1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "1", "--no-compare"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "hostapp: plugins.toml [plugin.sma_strategy]: key 'sl_atr': expected a finite number > 0,"
        " got -1.0"
    ]


async def test_a_stop_inside_the_stops_level_is_widened_in_the_ratio_asked(
    hostapp_factory: Any,
) -> None:
    """Quiet bars: 1.5 ATR is closer to the price than the broker's stops level plus the
    spread, where the broker would refuse the order (invalid stops). The stop moves out
    to that distance, the target with it (tp_atr / sl_atr kept), and the report counts
    the order."""
    from hookspecs import SymbolInfo
    from hostapp.brokers.paper_rules import check_stops

    host = hostapp_factory({"sma_strategy": sma}, {"plugin": {"sma_strategy": SETTINGS}})
    bars = bars_from_closes(UP[: first_cross(UP, 3, 10, "buy")], spread=0.5)
    level = 4 * sma.atr(bars, 5)
    info = SymbolInfo("GBPUSD", 2, 0.01, 0.01, 0.01, 100.0, stops_level=level)
    host.broker.symbol_info = lambda symbol: info  # no quote: the bar's spread counts
    ((_, order),) = await host.plugins.propose_orders(host, "GBPUSD", bars, T0)
    ask = bars[-1].close + 0.5
    distance = level + 0.5 + 0.01
    assert order.stop_loss == pytest.approx(ask - distance)
    assert order.take_profit == pytest.approx(ask + 2 * distance)
    from hookspecs import Quote

    quote = Quote("GBPUSD", bars[-1].close, ask, bars[-1].time)
    assert check_stops(info, "buy", quote, order.stop_loss, order.take_profit) is None
    (report,) = host.plugins.run_report(host).values()
    assert report["orders_widened"] == 1
