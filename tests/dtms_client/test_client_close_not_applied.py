"""A second report of a close with other values (another profit, another reason) is
``already_closed``: the first report's outcome stands. It was said only by that flag,
and the program believed its second profit recorded. Now the server's answer lists the
fields it did not apply in ``not_applied`` (sent and kept), and the public client logs
them in one WARNING; a report sent again as it was says nothing. A real server (the app
on a real port) and the public client."""

from __future__ import annotations

import logging

import pytest
from dtms_client.test_client_created_status import gold_trade

from dtms_plugin.client import AsyncDtmsClient

from .conftest import Served


async def test_a_second_close_with_other_values_says_what_was_kept(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncDtmsClient(served.url) as client:
        assert (await client.register(gold_trade(1003))).outcome == "registered"
        first = await client.report_closed(1003, reason="tp", profit=25.0)
        assert first is not None and "not_applied" not in first
        same = await client.report_closed(1003, reason="tp", profit=25.0)
        assert same is not None and same["already_closed"] is True
        assert "not_applied" not in same
        with caplog.at_level(logging.WARNING, "dtms_plugin.client"):
            other = await client.report_closed(1003, reason="sl", profit=-99.0)
    assert other is not None and other["already_closed"] is True
    assert other["not_applied"] == {
        "reason": {"sent": "sl", "kept": "tp"},
        "profit": {"sent": -99.0, "kept": 25.0},
    }
    assert other["trade_info"]["realised_profit"] == 25.0
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "DTMS ticket 1003: already closed: the server keeps its reason 'tp' (sent 'sl'),"
        " profit 25.0 (sent -99.0), not what was sent"
    ]
