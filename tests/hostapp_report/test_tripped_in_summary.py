"""A plugin whose breaker tripped is in the run's summary: ``tripped`` says which, when
(the host's clock) and why, its report is ``{"error": ...}``, and the note says it in
words with the time. It vanished from summary.json (from ``plugins`` and
``plugin_reports``: its run_report is never called), though the contract says a tripped
plugin is "listed as ``tripped``" (hookspecs/spec.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from hookspecs import hookimpl
from hostapp import app as appmod
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.testing import bars_from_closes


class Crashes:
    def __init__(self) -> None:
        self.cycles = 0

    @hookimpl
    def on_cycle(self, now: datetime) -> None:
        self.cycles += 1
        if self.cycles > 10:
            raise RuntimeError("lost its model")

    @hookimpl
    def run_report(self) -> dict[str, int]:
        return {"activity": self.cycles}


class Steady:
    @hookimpl
    def run_report(self) -> dict[str, int]:
        return {"activity": 1}


def test_a_tripped_plugin_is_listed_with_when_and_why() -> None:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + i % 7 for i in range(60)])}
    builtins = {"crashes": Crashes(), "steady": Steady()}
    app = appmod.build_sim_app(
        config, series, base_timeframe="M5", builtins=builtins, entry_points=[], env={}
    )
    stats = asyncio.run(drive(app, progress=None))
    summary = run_summary(app, stats, {"mode": "replay"})
    (tripped,) = summary["tripped"]
    sixteenth = series["XAUUSD"][15].time  # the 11th to 15th cycles failed: the 15th trips
    assert tripped == {
        "plugin": "crashes",
        "at": sixteenth.isoformat(),
        "why": "breaker tripped after 5 consecutive failures of on_cycle; last: on_cycle: "
        "RuntimeError: lost its model",
    }
    assert summary["plugins"] == ["steady"]  # running at the end, as before
    assert summary["plugin_reports"] == {
        "crashes": {"error": f"switched off: {tripped['why']}"},
        "steady": {"activity": 1},
    }
    (note,) = [n for n in summary["host_notes"] if n.startswith("plugin crashes")]
    assert note.startswith(
        f"plugin crashes was switched off at {sixteenth:%Y-%m-%d %H:%M:%S} UTC: breaker tripped"
    )
