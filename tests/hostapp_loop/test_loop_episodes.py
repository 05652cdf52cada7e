"""Vetoed and refused orders are logged once per episode with a count (docs/architecture.md
§6): a strategy that proposes every bar while a guard says no must not write a line per
bar; the summary counts vetoes by kind, not by a reason that names a date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hookspecs import OrderRequest, Veto, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.run_notes import vetoes_note
from hostapp.testing import bars_from_closes

CLOSES = [2000.0] * 30


class EveryBar:
    """Proposes one order each bar (for ``symbol``) and vetoes by a schedule: cycle
    index → the veto to answer."""

    def __init__(self, vetoes: dict[int, str | Veto], symbol: str = "XAUUSD") -> None:
        self.vetoes = vetoes
        self.symbol = symbol
        self.cycle = -1

    @hookimpl
    def propose_orders(self, symbol: str, now: datetime) -> list[OrderRequest]:
        self.cycle += 1
        return [OrderRequest(self.symbol, "buy", 0.01, stop_loss=1990.0, take_profit=2100.0)]

    @hookimpl
    def allow_order(self, order: OrderRequest) -> str | Veto | None:
        return self.vetoes.get(self.cycle)


def _mode(until: str) -> Veto:
    return Veto(f"mode until {until}: 3 stops", "mode")


async def _drive(plugin: EveryBar) -> Any:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}})
    app = build_sim_app(
        config,
        {"XAUUSD": bars_from_closes(CLOSES)},
        base_timeframe="M5",
        builtins={"every_bar": plugin},
        entry_points=[],
        env={},
    )
    return await drive(app, progress=None)


def _lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


async def test_a_veto_episode_is_one_line_then_its_count_when_an_order_goes_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vetoes: dict[int, str | Veto] = {i: _mode("2024-01-01T02:00") for i in range(3, 11)}
    vetoes |= {i: _mode("2024-01-01T03:00") for i in range(15, 18)}  # another mode
    vetoes |= {20: "too big", 21: "too big"}
    with caplog.at_level("INFO"):
        stats = await _drive(EveryBar(vetoes))
    lines = _lines(caplog, "vetoed")
    assert lines == [
        "order buy XAUUSD from every_bar vetoed: every_bar: mode until 2024-01-01T02:00: 3 stops",
        "orders go through again, after 7 more orders vetoed (every_bar: mode until "
        "2024-01-01T02:00: 3 stops) "
        "from 2026-01-05T00:20:00+00:00 to 2026-01-05T00:55:00+00:00",
        "order buy XAUUSD from every_bar vetoed: every_bar: mode until 2024-01-01T03:00: 3 stops",
        "orders go through again, after 2 more orders vetoed (every_bar: mode until "
        "2024-01-01T03:00: 3 stops) "
        "from 2026-01-05T01:20:00+00:00 to 2026-01-05T01:30:00+00:00",
        "order buy XAUUSD from every_bar vetoed: every_bar: too big",
        "orders go through again, after 1 more order vetoed (every_bar: too big) "
        "from 2026-01-05T01:45:00+00:00 to 2026-01-05T01:50:00+00:00",
    ]
    # the summary counts by kind: both modes together, whatever their end
    assert stats.orders_vetoed == {"every_bar: mode": 11, "every_bar: too big": 2}
    assert vetoes_note(stats) == (
        f"13 of the {stats.orders_proposed} orders proposed were vetoed: "
        "11 × every_bar: mode; 2 × every_bar: too big"
    )


async def test_an_episode_still_open_at_the_end_of_the_run_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vetoes: dict[int, str | Veto] = {i: "no" for i in range(25, 40)}
    with caplog.at_level("INFO"):
        await _drive(EveryBar(vetoes))
    last = _lines(caplog, "vetoed")[-1]
    assert last.startswith("until the run ended: 4 more orders vetoed (every_bar: no) from ")


async def test_refusals_by_the_broker_are_one_warning_per_episode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        stats = await _drive(EveryBar({}, symbol="NOPE"))
    assert stats.orders_rejected == stats.orders_proposed > 20
    lines = _lines(caplog, "refused")
    assert len(lines) == 2, lines
    assert lines[0].startswith("order buy NOPE from every_bar refused: ")
    assert lines[1].startswith(
        f"until the run ended: {stats.orders_proposed - 1} more orders refused ("
    )


def test_an_episode_ended_to_make_room_says_why(caplog: pytest.LogCaptureFixture) -> None:
    """Past OPEN_EPISODES at once the oldest is ended: its count says it is no longer
    counted, not that orders go through again."""
    import logging

    from hostapp.episodes import OPEN_EPISODES, Episodes

    at = datetime(2026, 1, 5)
    episodes = Episodes(logging.getLogger("test_loop_episodes"), logging.INFO, "vetoed")
    with caplog.at_level("INFO"):
        for n in range(OPEN_EPISODES + 1):
            episodes.first(f"reason {n}", at)
            episodes.first(f"reason {n}", at)  # one more each: counted
    (said,) = [r.getMessage() for r in caplog.records]
    assert said == (
        f"no longer counted ({OPEN_EPISODES} others open): 1 more order vetoed (reason 0) "
        "from 2026-01-05T00:00:00 to 2026-01-05T00:00:00"
    )
