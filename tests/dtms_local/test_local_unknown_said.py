"""How the local strategy says the outcomes of unknown actions it settled from the broker:
one WARNING per trade and action when settled "not applied" (repeats of that action at
DEBUG, counted when one settles done). Per trade alone, a partial close settled "not
applied" after a stop's change on the same trade was said at DEBUG only (the probe's
10031 run: the tighten said, the partial close not)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig


def test_each_action_settled_not_applied_is_said_once_at_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    strategy = Rig(tmp_path / "dtms").strategy
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    strategy._said_settled(7, "7:1:tighten_sl", done=False)
    strategy._said_settled(7, "7:2:partial_close", done=False)
    strategy._said_settled(7, "7:2:partial_close", done=False)  # the same one, again
    strategy._said_settled(7, "7:2:partial_close", done=True)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "DTMS 7:" in r.getMessage()]
    assert [(level, text.split(":")[1].strip()) for level, text in said] == [
        (logging.WARNING, "tighten_sl of unknown outcome settled as not applied"),
        (logging.WARNING, "partial_close of unknown outcome settled as not applied"),
        (logging.DEBUG, "partial_close of unknown outcome settled as not applied"),
        (logging.WARNING, "partial_close of unknown outcome settled as done (2 before it "
         "settled as not applied)"),
    ]  # fmt: skip


def test_a_close_settled_with_its_hedge_gone_is_said_once_per_episode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A close whose hedge is gone and whose trade is still open, settled again and again
    (a broker losing every answer): one WARNING, then DEBUG, as every other outcome."""
    strategy = Rig(tmp_path / "dtms").strategy
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    for _ in range(3):
        strategy._said_settled(7, "7:4:close", done=False, hedge_closed=9)
    said = [r.levelno for r in caplog.records if "hedge 9 gone" in r.getMessage()]
    assert said == [logging.WARNING, logging.DEBUG, logging.DEBUG]
