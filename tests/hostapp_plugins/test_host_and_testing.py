"""The Host object plugins receive, the clocks, and the fixtures hostapp.testing offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.hostapp_plugin_doubles import Recorder

from hookspecs import (
    Action,
    ActionKind,
    ActionResult,
    HostView,
    OrderRequest,
    ResultCode,
    hookimpl,
)
from hostapp.clock import SimClock, SystemClock
from hostapp.host import Host
from hostapp.testing import T0, MemoryBroker, MemoryMarket, bars_from_closes


def test_sim_clock_moves_only_when_told() -> None:
    clock = SimClock(T0)
    assert clock.now() == T0
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 5))
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2026, 1, 5))


def test_system_clock_is_utc_aware() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)


def test_host_is_a_hostview_with_its_parts(
    hostapp_factory: Any, hostapp_broker: MemoryBroker
) -> None:
    host = hostapp_factory({"a": Recorder()}, {"plugin": {"a": {"k": 1}}})
    assert isinstance(host, Host) and isinstance(host, HostView)
    assert host.broker is hostapp_broker
    assert host.config_for("a") == {"k": 1}
    assert host.config_for("nobody") == {}
    assert host.clock.now() == T0
    assert host.log.name == "hostapp"
    with pytest.raises(AttributeError):
        host.broker = MemoryBroker()  # type: ignore[misc]  # read-only: the loop builds the host with its broker


async def test_execute_records_refusals_and_tells_plugins(hostapp_factory: Any) -> None:
    plugin = Recorder()
    host = hostapp_factory({"a": plugin})
    action = Action(99, ActionKind.CLOSE, key="99:1:close")
    result = await host.execute(action)
    assert not result.ok and result.code is ResultCode.NOT_FOUND  # a refusal, not an exception
    assert host.executed == [(action, result)]
    assert plugin.calls[-1] == ("on_action", {"action": action, "result": result})


async def test_an_action_reported_from_elsewhere_is_heard_not_counted(
    hostapp_factory: Any, hostapp_broker: MemoryBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """``report_action``: an action a DTMS server carried out on the account reaches
    every plugin (``on_action``) and the log, marked reported; no broker call, no row of
    this host's actions, and the loop's listeners (which would call a close this host's
    own) are not told."""
    plugin = Recorder()
    host = hostapp_factory({"a": plugin})
    ticket = hostapp_broker.open(OrderRequest("XAUUSD", "buy", 1.0, stop_loss=1990.0)).new_ticket
    assert ticket is not None
    heard: list[Any] = []
    host.add_listener(lambda action, result: heard.append(action))
    action = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "S=-4", f"{ticket}:1:x")
    result = ActionResult.success("done by the server")
    caplog.set_level("INFO", "hostapp")
    await host.report_action(action, result)
    assert plugin.calls[-1] == ("on_action", {"action": action, "result": result})
    assert host.executed == [] and heard == []
    position = hostapp_broker.position(ticket)
    assert position is not None and position.stop_loss == 1990.0  # nothing sent
    (line,) = [r for r in caplog.records if getattr(r, "event", None) == "action"]
    assert line.getMessage() == (
        f"action tighten_sl on ticket {ticket} (reported: carried out elsewhere): ok "
        "done by the server"
    )
    assert (line.reported, line.symbol) == (True, "XAUUSD")  # type: ignore[attr-defined]


class RiskLimit:
    """A risk plugin: no order above 0.2 lots, whoever sends it."""

    def __init__(self) -> None:
        self.asked: list[OrderRequest] = []

    @hookimpl
    def allow_order(self, order: OrderRequest) -> str | None:
        self.asked.append(order)
        return "over 0.2 lots" if order.volume > 0.2 else None


async def test_a_re_add_is_an_entry_the_plugins_allow_or_veto(
    hostapp_factory: Any, hostapp_broker: MemoryBroker
) -> None:
    """A re-add opens new exposure: a risk plugin's ``allow_order`` is asked about it,
    and a veto is its result (the broker is not called); stops are not asked about."""
    risk, seen = RiskLimit(), Recorder()
    host = hostapp_factory({"risk": risk, "seen": seen})
    ticket = hostapp_broker.open(OrderRequest("XAUUSD", "buy", 1.0, stop_loss=1990.0)).new_ticket
    assert ticket is not None
    big = Action(ticket, ActionKind.RE_ADD, {"volume": 0.5}, "", f"{ticket}:1:re_add", "dtms")
    result = await host.execute(big)
    assert (result.ok, result.code) == (False, ResultCode.VETOED)
    assert result.message == "vetoed by risk: over 0.2 lots"
    assert [p.ticket for p in hostapp_broker.positions()] == [ticket]  # nothing opened
    assert seen.calls[-1] == ("on_action", {"action": big, "result": result})
    asked = risk.asked[-1]
    assert (asked.symbol, asked.direction, asked.volume, asked.stop_loss, asked.source) == (
        "XAUUSD", "buy", 0.5, 1990.0, "dtms"
    )  # fmt: skip
    small = Action(ticket, ActionKind.RE_ADD, {"volume": 0.2}, "", f"{ticket}:2:re_add", "dtms")
    added = await host.execute(small)
    assert added.ok and added.new_ticket is not None
    assert hostapp_broker.position(added.new_ticket).comment == f"DTMS_READD_{ticket}"  # type: ignore[union-attr]
    asked_before = len(risk.asked)
    stop = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "", f"{ticket}:3:sl")
    assert (await host.execute(stop)).ok and len(risk.asked) == asked_before


def test_memory_broker_opens_modifies_hedges_and_closes(hostapp_clock: SimClock) -> None:
    broker = MemoryBroker({"XAUUSD": 2000.0}, clock=hostapp_clock)
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.3, stop_loss=1990.0)).new_ticket
    assert ticket == 1
    assert broker.modify_sl_tp(1, 1995.0, None).ok
    assert broker.modify_sl_tp(1, 1995.0, None).code is ResultCode.NO_CHANGES
    hedge = broker.hedge(1, 0.3)
    assert hedge.ok and broker.position(hedge.new_ticket or 0).direction == "sell"  # type: ignore[union-attr]
    broker.set_price("XAUUSD", 2010.0)
    assert broker.close(1, 0.1).ok
    assert broker.position(1).volume == pytest.approx(0.2)  # type: ignore[union-attr]
    assert broker.close(1).ok and broker.position(1) is None
    assert broker.closed[0].profit == pytest.approx(2.0)  # 10 × 0.2 lots
    assert broker.close(1).code is ResultCode.NOT_FOUND
    assert broker.open(OrderRequest("EURUSD", "buy", 0.1)).code is ResultCode.REJECTED
    netting = MemoryBroker(margin_mode="netting")
    netting.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert netting.hedge(1, 0.1).code is ResultCode.HEDGING_NOT_ALLOWED
    assert [c[0] for c in broker.calls][:3] == ["open", "modify_sl_tp", "modify_sl_tp"]


def test_memory_market_and_bars_from_closes() -> None:
    bars = bars_from_closes([10.0, 11.0, 10.5])
    assert [b.close for b in bars] == [10.0, 11.0, 10.5]
    assert bars[1].open == 10.0 and bars[1].time - bars[0].time == timedelta(minutes=5)
    market = MemoryMarket({"X": bars})
    assert list(market.bars("X", "M5", 2)) == bars[1:]
    assert list(market.bars("Y", "M5", 2)) == []
    assert list(market.bars("X", "M5", 0)) == []


def test_factory_ignores_installed_plugins_and_env_unless_asked(
    hostapp_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTAPP_LOAD_PLUGINS", "")
    host = hostapp_factory({"a": Recorder()})
    assert host.plugins.names == ["a"]
    assert hostapp_factory({"a": Recorder()}, installed=True).plugins.is_enabled("sma_strategy")
    off = hostapp_factory({"a": Recorder()}, env={"HOSTAPP_DISABLE_PLUGINS": "a"})
    assert off.plugins.names == []


def test_factory_configure_false_skips_configure(hostapp_factory: Any) -> None:
    plugin = Recorder()
    hostapp_factory({"a": plugin}, configure=False)
    assert plugin.calls == []


async def test_a_reported_action_is_not_in_the_run_summarys_action_rows(tmp_path: Path) -> None:
    """The summary reads the host's run recorder, itself an ``on_action`` listener: a
    server's action it heard was counted as this run's (``actions_by_source``)."""
    from hostapp import app as appmod
    from hostapp.config import load_config
    from hostapp.market.synthetic import generate_bars

    start = datetime(2024, 3, 4, tzinfo=UTC)
    config = appmod.with_data_root(load_config(None), tmp_path)
    bars = {"XAUUSD": generate_bars("XAUUSD", start, 50)}
    app = appmod.build_sim_app(config, bars, base_timeframe="M5")
    done = Action(7, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "S=-4", "7:1:x", source="dtms")
    await app.host.report_action(done, ActionResult.success("done by the server"))
    own = Action(8, ActionKind.TIGHTEN_SL, {"stop_loss": 1.0}, "mine", "8:1:x", source="mine")
    await app.host.execute(own)  # no such position: a refusal, still this run's action
    assert [a.key for _, a, _ in app.recorder.actions] == ["8:1:x"]
