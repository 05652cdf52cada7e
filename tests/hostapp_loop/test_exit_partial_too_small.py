"""A partial close due on a minimum-lot trade cannot be sent (the part or the rest would be
under the broker's minimum): the exit manager says so, in the log once and in the run
report and summary with a count, as DTMS says what its ladder did not send. Before, it
marked the close done and said nothing: a replay with 0.01 lots showed "actions by kind:
none" and no note."""

from __future__ import annotations

import logging

import pytest
from support.gold_replay import BuyOnce, gold_replay

from hostapp.exits import ExitManager


@pytest.mark.parametrize(("volume", "skipped"), [(0.01, 1), (0.02, 0)])
async def test_a_partial_close_too_small_to_split_is_counted_and_said(
    volume: float, skipped: int, caplog: pytest.LogCaptureFixture
) -> None:
    from hostapp.driving import run_summary
    from hostapp.report import summary_table

    closes = [2000.0] * 20 + [2000.0 + i for i in range(1, 26)]  # up to +2.5R
    exits = {"partial_at_r": 1.0, "breakeven": False, "trailing": False}
    app = gold_replay(
        closes, tables={"exits": exits}, exits=ExitManager(), buy_once=BuyOnce(volume)
    )
    with caplog.at_level(logging.INFO):
        stats = await app.loop.run_replay(app.feed)
    assert len(stats.entries) == 1
    report = app.plugin_reports = app.plugins.run_report(app.host)  # as a run's end does
    table = summary_table(run_summary(app, stats, {}))
    said = [r.getMessage() for r in caplog.records if "partial close not sent" in r.getMessage()]
    if skipped:
        assert report["exits"]["partial_too_small"] == 1
        assert "did not send 1 partial close due at +1R: the volume was too small" in table
        assert (
            "0.5 of 0.01 lots, floored to the step 0.01, is 0; the part and the rest must " in table
        )
        assert len(said) == 1
    else:  # 0.02 splits into 0.01 and 0.01: sent, nothing to say
        assert "partial_too_small" not in report["exits"] and not said
        assert "note (exits)" not in table
