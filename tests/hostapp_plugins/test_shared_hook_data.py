"""What the host hands to several plugins, no plugin can change for the next one.

Within one ``propose_orders`` call every strategy receives the same ``bars``: a strategy
ordered first that cleared them took another from 98 orders to none, silently, and one
that appended a bar from the future made another trade on it. The same holds for
``on_state_change``'s ``details`` (nested dicts too), the ``[plugin.NAME]`` tables
``config_for`` gives, and the whole series a replay's market hands out
(:class:`hookspecs.SeriesView`), which is the very series the paper broker fills on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hookspecs import Action, ActionKind, ActionResult, Bar, DefensiveState, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.market.feed import ReplayFeed
from hostapp.testing import T0, bars_from_closes

BARS = bars_from_closes([2000.0 + (i % 17) - (i % 5) for i in range(240)])


class Clearer:
    """Ordered first: empties the bars it is shown, or appends a bar from the future."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.refused = 0

    @hookimpl
    def propose_orders(self, bars: Any) -> list[OrderRequest]:
        try:
            if self.how == "clear":
                bars.clear()
            else:
                last = bars[-1]
                later = last.time + timedelta(minutes=5)
                bars.append(Bar(later, last.close, last.close * 1.5, last.close, last.close * 1.5))
        except AttributeError:
            self.refused += 1
        return []


class Counter:
    """Ordered second: notes how many bars it was shown, and the newest one's time."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, datetime, datetime]] = []

    @hookimpl
    def propose_orders(self, bars: Any, now: datetime) -> list[OrderRequest]:
        self.seen.append((len(bars), bars[-1].time if bars else now, now))
        return []


@pytest.mark.parametrize("how", ["clear", "append"])
async def test_a_strategy_cannot_change_the_bars_the_next_one_sees(how: str) -> None:
    clearer, counter = Clearer(how), Counter()
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"]}, "plugins": {"order": ["clearer", "counter"]}}
    )
    app = build_sim_app(
        config, {"XAUUSD": BARS}, base_timeframe="M5",
        builtins={"clearer": clearer, "counter": counter}, entry_points=[], env={},
    )  # fmt: skip
    await drive(app, progress=None)
    assert len(counter.seen) == len(BARS)
    for i, (count, newest, now) in enumerate(counter.seen):
        assert count == min(i + 1, 200)  # the lookback: 200 bars
        assert newest + timedelta(minutes=5) == now  # the bar that just closed, none later
    assert clearer.refused == len(BARS)


async def test_the_bars_of_a_call_are_one_tuple_whatever_the_caller_passed(
    hostapp_factory: Any,
) -> None:
    shown: list[Any] = []

    class Looker:
        @hookimpl
        def propose_orders(self, bars: Any) -> None:
            shown.append(bars)

    host = hostapp_factory(plugins={"a": Looker(), "b": Looker()})
    await host.plugins.propose_orders(host, "XAUUSD", list(BARS[:5]), T0)
    assert shown[0] is shown[1] and shown[0] == tuple(BARS[:5])


async def test_a_listener_cannot_change_the_details_the_next_one_hears(
    hostapp_factory: Any,
) -> None:
    heard: list[Any] = []
    refused: list[str] = []

    class Editor:
        @hookimpl
        def on_state_change(self, details: Any) -> None:
            for edit in (
                lambda: details.clear(),
                lambda: details.__setitem__("total", 0.0),
                lambda: details["subscores"].__setitem__("trend", 9.0),
                lambda: details["weights"].append(1.0),
            ):
                try:
                    edit()
                except (TypeError, AttributeError) as exc:
                    refused.append(type(exc).__name__)

    class Listener:
        @hookimpl
        def on_state_change(self, details: Any) -> None:
            heard.append(details)

    host = hostapp_factory(
        plugins={"editor": Editor(), "listener": Listener()},
        config={"plugins": {"order": ["editor", "listener"]}},
    )
    details = {"total": -0.7, "subscores": {"trend": -1.0}, "weights": [0.5, 0.5]}
    old, new = DefensiveState.HEALTHY, DefensiveState.WARNING_L1
    await host.report_state_change(5, old, new, "score fell", details)
    assert heard == [{"total": -0.7, "subscores": {"trend": -1.0}, "weights": [0.5, 0.5]}]
    assert refused == ["TypeError"] * 4
    assert details["subscores"] == {"trend": -1.0}  # the reporter's own is its own too


def test_a_plugin_cannot_edit_the_table_another_plugin_configures_from(
    hostapp_factory: Any,
) -> None:
    class Quiet:
        pass

    tables = {"b": {"symbols": ["XAUUSD"], "limits": {"daily": 2}}}
    host = hostapp_factory(plugins={"b": Quiet()}, config={"plugin": tables}, configure=False)
    theirs = host.config_for("b")
    theirs["symbols"].append("EURUSD")
    theirs["limits"]["daily"] = 99
    assert host.config_for("b") == {"symbols": ["XAUUSD"], "limits": {"daily": 2}}


def test_a_replays_whole_series_cannot_be_edited_by_the_plugin_that_reads_it() -> None:
    feed = ReplayFeed({"XAUUSD": BARS}, base_timeframe="M5")
    whole = feed.series("XAUUSD", "M5")
    assert whole is not None
    bars, closes = whole
    with pytest.raises(AttributeError):
        bars.clear()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        closes.append(T0)  # type: ignore[attr-defined]
    coarser = feed.series("XAUUSD", "H1")
    assert coarser is not None and isinstance(coarser[0], tuple)
    feed.advance(BARS[9].time + timedelta(minutes=5))
    assert list(feed.bars("XAUUSD", "M5", 3)) == BARS[7:10]
    mine = list(feed.bars("XAUUSD", "M5", 3))
    mine.clear()  # a copy of one's own changes nothing for the next caller
    assert len(feed.bars("XAUUSD", "M5", 3)) == 3


class Burglar:
    """Goes around the read-only: ``dict.__setitem__``, ``list.append`` and, on the
    frozen action, ``object.__setattr__``."""

    @hookimpl
    def on_state_change(self, details: Any) -> None:
        dict.__setitem__(details, "total", 9.0)
        dict.__setitem__(details["subscores"], "trend", 9.0)
        list.append(details["weights"], 9.0)

    @hookimpl
    def on_action(self, action: Action) -> None:
        dict.__setitem__(action.params, "stop_loss", 1.0)
        object.__setattr__(action, "reason", "burgled")


class Hearer:
    def __init__(self) -> None:
        self.heard: list[Any] = []

    @hookimpl
    def on_state_change(self, details: Any) -> None:
        self.heard.append(details)

    @hookimpl
    def on_action(self, action: Action) -> None:
        self.heard.append(action)


async def test_a_listener_going_around_the_read_only_changes_only_its_own_copy(
    hostapp_factory: Any,
) -> None:
    """Each listener of on_state_change and on_action hears a copy of its own: what the
    first did to the shared one through dict's, list's and object's own methods, the
    second heard, and so did the action's planner (DTMS journals its params) and the
    host's record of what it carried out."""
    first, second = Hearer(), Hearer()
    host = hostapp_factory(
        plugins={"a": first, "burglar": Burglar(), "z": second},
        config={"plugins": {"order": ["a", "burglar", "z"]}},
    )
    details = {"total": -0.7, "subscores": {"trend": -1.0}, "weights": [0.5, 0.5]}
    await host.report_state_change(
        5, DefensiveState.HEALTHY, DefensiveState.WARNING_L1, "x", details
    )
    planned = Action(5, ActionKind.TIGHTEN_SL, {"stop_loss": 1990.5}, "why", "5:1:x", "dtms")
    await host.execute(planned)  # no such position: refused, and recorded
    await host.report_action(planned, ActionResult.success("done by the server"))
    score = {"total": -0.7, "subscores": {"trend": -1.0}, "weights": [0.5, 0.5]}
    for hearer in (first, second):
        assert hearer.heard == [score, planned, planned]
        assert [a.reason for a in hearer.heard[1:]] == ["why", "why"]
    assert first.heard[0] is not second.heard[0] and first.heard[1] is not second.heard[1]
    assert planned.params == {"stop_loss": 1990.5} and planned.reason == "why"
    ((done, _),) = host.executed
    assert done == planned and done is not planned
    assert details == score  # the reporter's own is its own too
