"""Another plugin cannot change what DTMS saves of its actions by editing the action it
hears of. ``on_action`` hands every listener the very action DTMS planned, and DTMS
journals its ``params`` once the broker answered: a plugin that set
``action.params["stop_loss"] = 1.0`` there put that stop in DTMS's journal, its action
history and the trade record ``dtms export`` writes. ``Action.params`` is read-only
(hookspecs.frozen), so the edit is refused and what DTMS saved is what it sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from support.dtms_kit import all_stops

from dtms_plugin.store import Store
from hookspecs import Action, hookimpl
from hostapp import app as appmod
from hostapp.config import load_config
from hostapp.driving import drive
from hostapp.market.synthetic import generate_bars

BARS = 3_000
START = datetime(2024, 3, 4, tzinfo=UTC)
PLANTED = 1.0


class Meddler:
    """Sets every stop it hears of to 1.0, as the probe's plugin did."""

    def __init__(self) -> None:
        self.edited = 0
        self.refused = 0

    @hookimpl
    def on_action(self, action: Action) -> None:
        try:
            action.params["stop_loss"] = PLANTED  # type: ignore[index]
        except TypeError:
            self.refused += 1
        else:
            self.edited += 1


def test_an_edit_of_the_params_never_reaches_dtmss_store(tmp_path: Path) -> None:
    config = appmod.with_data_root(load_config(None), tmp_path)
    meddler = Meddler()
    series = {"XAUUSD": generate_bars("XAUUSD", START, BARS, seed=3)}
    app = appmod.build_sim_app(
        config, series, base_timeframe="M5", timeframe="M5", builtins={"meddler": meddler}
    )
    asyncio.run(drive(app, progress=None))
    executed = [a for a, _ in app.host.executed if "stop_loss" in a.params]  # type: ignore[attr-defined]
    assert executed, "DTMS moved no stop: nothing was tested"
    with Store(tmp_path / "dtms") as store:
        records = store.records()
        history = store.actions(limit=100_000)
    assert records and history
    assert PLANTED not in all_stops(records) and PLANTED not in all_stops(history)
    sent = {a.key: a.params["stop_loss"] for a in executed}
    saved = {e["key"]: e["params"]["stop_loss"] for e in history if "stop_loss" in e["params"]}
    assert saved and all(sent[key] == stop for key, stop in saved.items())
    assert meddler.edited == 0 and meddler.refused == len(app.host.executed)  # type: ignore[attr-defined]
