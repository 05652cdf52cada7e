"""What a hook's answer must be, checked where it is given: a report that JSON cannot
hold is that plugin's error, not the run's end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.hostapp_plugin_doubles import Recorder

from hostapp.report import write_json


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ({"activity": 1, "ratio": float("nan")}, "Out of range float values"),
        ({1: "one", "two": 2}, "not supported between"),
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
