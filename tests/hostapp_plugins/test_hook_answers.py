"""What a hook's answer must be, checked where it is given: a report that JSON cannot
hold is that plugin's error, not the run's end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.hostapp_plugin_doubles import Recorder

from hookspecs import OrderRequest, hookimpl
from hostapp.pluginhost import BREAKER_LIMIT
from hostapp.report_files import write_json
from hostapp.testing import T0


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ({"activity": 1, "ratio": float("nan")}, "not a finite number at key 'ratio': nan"),
        ({1: "one", "two": 2}, "a key that is not text at the top: 1"),
        # written with str, it was a repr in summary.json
        ({"activity": 1, "when": object()}, "not plain JSON data at key 'when': object is not"),
        ({"by": {"day": [1, {1.5}]}}, "at key 'by'['day'][1]: set is not a JSON type"),
        ({"activity": "lots"}, "activity must be an int"),
        ({"note": 3}, "note must be a str"),
        ({"activity": [1]}, "activity must be an int"),
    ],
)
def test_a_report_json_cannot_hold_is_that_plugins_error_not_the_runs(
    hostapp_factory: Any, tmp_path: Path, report: dict[Any, Any], why: str
) -> None:
    """A NaN (an average over no trades) ended the run in a traceback before its summary
    was written; now only this plugin's report says what was wrong."""
    host = hostapp_factory({"odd": Recorder(run_report=report), "fine": Recorder(run_report={})})
    reports = host.plugins.run_report(host)
    assert reports["odd"]["error"].startswith("TypeError: run_report")
    assert why in reports["odd"]["error"] and reports["fine"] == {}
    write_json(tmp_path / "summary.json", {"plugins": reports})  # the summary is written
    assert json.loads((tmp_path / "summary.json").read_text())["plugins"]["fine"] == {}


class WrongAnswers:
    """Every hook that answers, answering what its spec refuses (no exception raised)."""

    @hookimpl
    def propose_orders(self) -> Any:
        return OrderRequest("XAUUSD", "buy", 0.01)  # one order, not a list of them

    @hookimpl
    def allow_order(self) -> Any:
        return True

    @hookimpl
    def is_defensive(self) -> Any:
        return "no"

    @hookimpl
    def run_report(self) -> Any:
        return ["not", "a", "mapping"]

    @hookimpl
    def web_routes(self) -> Any:
        return ["/not-a-route"]


async def _ask(host: Any, hook: str) -> None:
    plugins = host.plugins
    if hook == "propose_orders":
        assert await plugins.propose_orders(host, "XAUUSD", [], T0) == []
    elif hook == "allow_order":
        assert plugins.allow_order(host, OrderRequest("XAUUSD", "buy", 0.01)) is not None
    elif hook == "is_defensive":
        assert plugins.is_defensive(host, 1) is True
    elif hook == "run_report":
        assert "error" in plugins.run_report(host)["wrong"]
    else:
        assert plugins.web_routes(host) == []


@pytest.mark.parametrize(
    "hook", ["propose_orders", "allow_order", "is_defensive", "run_report", "web_routes"]
)
async def test_a_wrong_answer_is_a_failure_and_five_in_a_row_trip_the_breaker(
    hostapp_factory: Any, hook: str
) -> None:
    """docs/architecture.md §4: a wrong answer is a failure. A propose_orders returning
    one order instead of a list was checked after its call had cleared the count, so the
    count went 0, 1, 0, 1 and the plugin was never switched off (an ERROR line a call)."""
    host = hostapp_factory({"wrong": WrongAnswers()})
    for _ in range(BREAKER_LIMIT):
        await _ask(host, hook)
    (info,) = host.plugins.listing()
    assert info.status == "tripped", info.error
    assert info.error is not None and f"consecutive failures of {hook}" in info.error


@pytest.mark.parametrize("value", [7, {"path": "/x"}, "/x"], ids=["int", "dict", "str"])
def test_web_routes_of_no_route_definitions_says_so_whatever_they_are(
    hostapp_factory: Any, value: Any
) -> None:
    """An int said "TypeError: 'int' object is not iterable", where a dict got the
    hook's own message."""

    class Odd:
        @hookimpl
        def web_routes(self) -> Any:
            return value

    host = hostapp_factory({"odd": Odd()})
    assert host.plugins.web_routes(host) == []
    (info,) = host.plugins.listing()
    assert info.error == (
        f"web_routes: TypeError: web_routes must return aiohttp route definitions: {value!r}"
    )
