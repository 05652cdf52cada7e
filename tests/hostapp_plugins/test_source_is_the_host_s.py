"""``source`` names the plugin that proposed an order or executed an action, and the host
sets it (docs/plugins.md, "Who did it: source"). A probe's plugin proposed orders with
``source="dtms"``: the guards' ``allow_order`` saw them as DTMS's, and the same-entries run
of an A/B replays entries by that name. A manager that closed positions with no source was
counted under no plugin in ``actions_by_source``, and one that claimed ``dtms`` as DTMS's:
an A/B of the first said it "took no action"."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hookspecs import Action, ActionKind, HostView, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.report import OUTSIDE_HOOKS, summarize
from hostapp.testing import bars_from_closes


class Spoofer:
    """Proposes an order in DTMS's name every 10th bar."""

    @hookimpl
    def propose_orders(self, symbol: str, bars: list[object]) -> list[OrderRequest]:
        if len(bars) % 10:
            return []
        return [OrderRequest(symbol, "buy", 0.1, stop_loss=1900.0, source="dtms")]


class Guard:
    """Allows everything; notes whose each order was."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def allow_order(self, order: OrderRequest) -> None:
        self.seen.append(order.source)


class Closer:
    """Closes each position after 3 cycles, once without a source, once as ``dtms``."""

    def __init__(self) -> None:
        self.ages: dict[int, int] = {}

    @hookimpl
    async def manage_positions(self, host: HostView) -> None:
        for p in host.broker.positions():
            age = self.ages[p.ticket] = self.ages.get(p.ticket, 0) + 1
            if age == 3:
                claim = "dtms" if p.ticket % 2 else ""
                action = Action(p.ticket, ActionKind.CLOSE, {}, key=f"{p.ticket}", source=claim)
                await host.execute(action)


async def _replay(tmp_path: Path) -> tuple[dict, Guard, object]:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(80)])}
    guard = Guard()
    app = build_sim_app(
        config, series, base_timeframe="M5", entry_points=[], env={},
        builtins={"spoofer": Spoofer(), "guard": guard, "closer": Closer()},
    )  # fmt: skip
    stats = await app.loop.run_replay(app.feed)
    summary = summarize(
        stats=stats,
        recorder=app.recorder,
        closed=app.broker.closed_trades(),  # type: ignore[attr-defined]
        open_positions=app.broker.positions(),
        start_balance=app.start_balance,
        balance=app.broker.account().balance,
    )
    return summary, guard, app


async def test_an_order_s_source_is_the_plugin_that_proposed_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    _, guard, app = await _replay(tmp_path)
    assert guard.seen and set(guard.seen) == {"spoofer"}
    assert {source for _, _, source in app.loop.stats.entries} == {"spoofer"}  # type: ignore[attr-defined]
    claims = [r.getMessage() for r in caplog.records if "named source" in r.getMessage()]
    spoofs = [m for m in claims if m.startswith("plugin spoofer")]
    assert len(spoofs) == 1, claims  # one WARNING per plugin, not one per order
    assert "'dtms'" in spoofs[0]


async def test_an_action_s_source_is_the_plugin_whose_hook_executed_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    summary, _, _ = await _replay(tmp_path)
    by_source = summary["actions_by_source"]
    assert set(by_source) == {"closer"}, by_source
    assert by_source["closer"]["close"] >= 2
    claims = [r.getMessage() for r in caplog.records if r.getMessage().startswith("plugin closer")]
    assert len(claims) == 1 and "an action" in claims[0], claims


async def test_an_action_outside_any_hook_keeps_its_source_or_is_named_so(
    tmp_path: Path,
) -> None:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(30)])}
    app = build_sim_app(config, series, base_timeframe="M5", entry_points=[], env={}, builtins={})
    await app.loop.run_replay(app.feed)
    opened = app.broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    other = app.broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert opened.new_ticket is not None and other.new_ticket is not None
    await app.host.execute(Action(opened.new_ticket, ActionKind.CLOSE, {}, key="a", source="web"))
    await app.host.execute(Action(other.new_ticket, ActionKind.CLOSE, {}, key="b"))
    summary = summarize(
        stats=app.loop.stats,
        recorder=app.recorder,
        closed=app.broker.closed_trades(),  # type: ignore[attr-defined]
        open_positions=app.broker.positions(),
        start_balance=app.start_balance,
        balance=app.broker.account().balance,
    )
    assert summary["actions_by_source"] == {OUTSIDE_HOOKS: {"close": 1}, "web": {"close": 1}}
