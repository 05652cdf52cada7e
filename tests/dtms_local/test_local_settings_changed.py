"""A trader changes the engine's settings between two live runs while a trade is HEDGED:
its record holds a flat deadline fixed under the first run's settings (15 M5 bars), which
the second run keeps (docs/dtms.md §5: the state machine alone decides deadlines). At
start-up the second run says so once, naming the ticket, the settings that changed and
the deadline that stays; a third run on the same settings says nothing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from hookspecs import DefensiveState


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "other settings than this run's" in r.getMessage()
    ]


async def test_open_trades_written_under_other_settings_are_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(tmp_path / "dtms")
    await r.start()
    await r.open_buy(ticket=1)
    await r.cycles(36)  # HEDGED (pinned in test_local_ladder)
    rec = r.strategy.records[1]
    assert rec.state is DefensiveState.HEDGED and rec.flat_deadline is not None
    deadline = rec.flat_deadline
    await r.stop()
    r.settings = dataclasses.replace(r.settings, fast_timeframe="M15", signal_timeframe="H1")
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        strategy = await r.restart()
    [line] = _said(caplog)
    assert 'fast_timeframe "M5" → "M15"' in line
    assert 'signal_timeframe "M15" → "H1"' in line
    assert "deadlines already set included" in line
    assert line.endswith(f"1 (HEDGED, flat deadline {deadline:%Y-%m-%d %H:%M})")
    assert strategy.records[1].flat_deadline == deadline  # kept as it was
    await r.stop()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        await r.restart()  # the same settings again: said once, not every start
    assert _said(caplog) == []
    await r.stop()
