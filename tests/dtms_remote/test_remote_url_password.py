"""A password in ``[plugin.dtms] api_url`` (``http://user:password@host``) is the
server's secret: the remote strategy's report (summary.json), its ``/health`` view and
its log named the URL whole (the review). Masked everywhere now, as the client's own
messages are; the requests still carry it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from support.fake_dtms_server import HOST, Clock, FakeDtms, trade


async def test_the_report_and_health_never_show_the_password(
    fake: FakeDtms,
    settings_for: Callable[..., Any],
    started: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = fake.url.replace("http://", "http://ops:pw-SECRET@")
    clock = Clock()
    strategy = await started(settings_for(url), clock=clock)
    await strategy.on_trade_executed(HOST, trade(11))
    await strategy.drain()
    report = json.dumps(strategy.report())
    assert "pw-SECRET" not in report and "***@" in report
    await fake.stop()  # down: the health view names the server
    for _ in range(3):
        clock.advance(30)
        await strategy.on_cycle(HOST, clock())
        await strategy.drain()
    _, body = strategy.health()
    assert "pw-SECRET" not in json.dumps(body, default=str), body
    assert "pw-SECRET" not in caplog.text
