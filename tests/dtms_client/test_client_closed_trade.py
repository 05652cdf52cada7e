"""A registration of a trade the server keeps CLOSED (its 409 ``trade closed``) is final
and no failure: the public client says ``closed`` once, without an ERROR, and the remote
strategy's outbox lets the entry go without retrying it (docs/client.md)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient
from dtms_plugin.http_client import RemoteApi, deliver, deliver_batch

from .conftest import Served


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def _closed_trade(served: Served, ticket: int) -> dict[str, Any]:
    body = registration(ticket, opened_at="2026-01-05T10:00:00Z")
    async with AsyncDtmsClient(served.url) as client:
        assert (await client.register(body)).outcome == "registered"
        assert await client.report_closed(ticket, "tp", 25.0) is not None
    return body


async def test_the_client_says_closed_once_without_an_error(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    body = await _closed_trade(served, 41)
    waits = Waits()
    caplog.set_level(logging.INFO, logger="dtms_plugin.client")
    async with AsyncDtmsClient(served.url, sleep=waits) as client:
        result = await client.register(body)
        (many,) = await client.register_many([body])
    assert (result.outcome, result.status, result.ok) == ("closed", 409, False)
    assert "DTMS no longer manages it" in result.message
    assert result.body["close_reason"] == "tp"
    assert (many.outcome, many.status) == ("closed", 409)
    assert waits.waits == []  # not retried
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_the_outbox_lets_a_closed_trades_registration_go(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    body = await _closed_trade(served, 42)
    api = RemoteApi(served.url, token=None, register_timeout=5.0, query_timeout=2.0)
    await api.open()
    waits = Waits()
    log = logging.getLogger("test.outbox")
    caplog.set_level(logging.INFO, logger="test.outbox")
    try:
        payload = {"kind": "register", **body}
        one = await deliver(api, 42, payload, sleep=waits, rand=lambda: 0.0, log=log,
                            token_env="DTMS_TOKEN")  # fmt: skip
        batch = await deliver_batch(api, [(42, payload)], sleep=waits, rand=lambda: 0.0,
                                    log=log, token_env="DTMS_TOKEN")  # fmt: skip
    finally:
        await api.close()
    assert (one, batch) == ("delivered", {42: "delivered"})
    assert waits.waits == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("no longer manages it" in r.getMessage() for r in caplog.records)
