"""The mt5linux bridge lost mid-run (the Wine-side ``python -m mt5linux`` restarted, the
TCP link reset): rpyc never reopens a closed connection, so the client that lost it
raises EOFError on every call for good. A reconnect builds a new client once the bridge
is back (docs/mt5.md, "When the terminal goes away mid-run")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hostapp_mt5.mt5_helpers import live_app, make_fake
from support.fake_mt5 import mt5linux_module

from hookspecs import BrokerError, OrderRequest, hookimpl
from hostapp.brokers.mt5 import Mt5Settings, create_mt5_broker
from hostapp.driving import drive

SETTINGS = Mt5Settings(module="mt5linux", server_utc_offset_minutes=120)


def test_a_lost_connection_is_reconnected_over_a_new_client_once_the_bridge_is_back() -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    broker = create_mt5_broker(SETTINGS, module=module, clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    lost = broker.api
    module.bridge.drop()
    with pytest.raises(EOFError):
        broker.positions()  # what a cycle's read meets: the loop skips the cycle
    with pytest.raises(BrokerError, match=r"^cannot reach the mt5linux server at localhost"):
        broker.reconnect()  # the bridge is still down
    module.bridge.start()
    broker.reconnect()
    assert broker.api is not lost and lost._MetaTrader5__conn.closed
    assert fake.calls.count("connect localhost:18812") == 2
    assert broker.positions() == []
    order = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1, stop_loss=1990.0)
    assert broker.open(order).ok  # the orders go over the new client too
    assert len(fake.positions) == 1


def test_a_reconnect_that_finds_the_bridge_back_at_once_works_the_first_time() -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    broker = create_mt5_broker(SETTINGS, module=module, clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    module.bridge.drop()
    module.bridge.start()  # restarted before anyone noticed
    broker.reconnect()
    assert broker.account().identity == broker.identity


class BridgeRestart:
    """The bridge restarts after cycle 2; the run stops after cycle 5."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.cycles = 0
        self.stop: Any = None

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.module.bridge.drop()
            self.module.bridge.start()
        if self.cycles == 5:
            self.stop()


async def test_the_live_loop_runs_again_after_the_bridge_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    probe = BridgeRestart(module)
    app = live_app(fake, {"probe": probe}, api=module, module="mt5linux")
    probe.stop = app.loop.request_stop
    with caplog.at_level(logging.INFO):
        stats = await asyncio.wait_for(drive(app, progress=None), 30)  # never reconnected
    assert probe.cycles == 5
    assert stats.cycles_skipped == 1 and stats.skip_error == "EOFError: stream has been closed"
    messages = [r.getMessage() for r in caplog.records]
    assert "reconnected to the broker after 1 skipped cycles" in messages
