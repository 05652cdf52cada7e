"""A registration of a ticket the server already keeps, sent with another volume (or
stop, or entry), is ``already`` and ``ok``: DTMS defends the trade as it had it. The
difference was only in the raw body's ``not_applied``: the program believed DTMS
defended 0.3 lot while it defended 0.1. Now the result's message says what the server
kept, and the client logs it at WARNING; a repeat of the same registration says nothing.
A real server (the app on a real port) and the public client."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from dtms_client.test_client_created_status import gold_trade

from dtms_plugin.client import AsyncDtmsClient

from .conftest import Served


async def test_a_second_registration_with_another_volume_says_what_was_kept(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncDtmsClient(served.url) as client:
        first = await client.register(gold_trade(5))
        assert first.outcome == "registered" and first.message == ""
        same = await client.register(gold_trade(5))
        assert same.outcome == "already" and same.message == ""
        with caplog.at_level(logging.WARNING, "dtms_plugin.client"):
            bigger = await client.register(replace(gold_trade(5), volume=3.0))
    assert bigger.ok and bigger.outcome == "already"
    assert bigger.message == (
        "already registered: the server keeps its volume 1.0 (sent 3.0), not what was sent"
    )
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"DTMS ticket 5: {bigger.message}"]


async def test_a_comment_the_server_cut_is_said_by_the_client(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The server keeps a comment cut to its limit and says so in the answer's
    ``warnings``; the client says it too, as it says a repeat's values kept."""
    async with AsyncDtmsClient(served.url) as client:
        with caplog.at_level(logging.WARNING, "dtms_plugin.client"):
            done = await client.register(replace(gold_trade(6), comment="x" * 300))
    assert done.outcome == "registered"
    assert done.message == "comment: cut to 256 characters (300 sent)"
    assert [r.getMessage() for r in caplog.records] == [f"DTMS ticket 6: {done.message}"]
