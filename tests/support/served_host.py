"""``hostapp run --live --serve`` in the test's process: the real host (its PluginHost,
its web app on 127.0.0.1 and a free port) with the real ``dtms`` plugin and its local
engine, over a paper account file in ``tmp_path`` (tests/support/hedged_paper.py).

``TroubledBroker`` is that paper account with two faults a test switches on: a broker
whose positions read raises (``positions_raise``: a ``BrokerError`` it says, or an
exception no broker should raise, as an adapter with a bug does, every cycle), and one
that raises ``OverflowError`` for the tickets of ``unreadable`` when asked how they
closed (the paper account file did for a ticket SQLite cannot hold: one trade's failure,
tests/dtms_server/test_dtms_server_problem_trades.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dtms_plugin.plugin import DtmsPlugin
from hookspecs import CloseReason, Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.config import config_from_dict
from hostapp.host import Host
from hostapp.loader import load_plugins
from hostapp.web import serving
from support.hedged_paper import PaperMarket


class TroubledBroker(PaperBroker):
    positions_raise: Exception | None = None
    unreadable: frozenset[int] = frozenset()

    def positions(self) -> list[Trade]:
        if self.positions_raise is not None:
            raise self.positions_raise
        return super().positions()

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        if ticket in self.unreadable:
            sqlite3.connect(":memory:").execute("SELECT ?", (2**63,))  # OverflowError
        return super().closed_with_reason(ticket)


def troubled_broker(market: PaperMarket) -> TroubledBroker:
    broker = TroubledBroker(
        clock=market.now, settings=PaperSettings(account_file=str(market.account))
    )
    broker.on_bar("XAUUSD", market.bars("XAUUSD", "M5", 1)[-1])
    return broker


@asynccontextmanager
async def served_host(
    tmp_path: Path, market: PaperMarket, broker: PaperBroker
) -> AsyncIterator[tuple[Host, str]]:
    """A live host with DTMS (local strategy, state in ``tmp_path / "dtms"``) started,
    and the URL its web app serves the plugins' routes at; shut down afterwards."""
    table: dict[str, Any] = {
        "strategy": "local", "state_dir": str(tmp_path / "dtms"), "trail": {"enabled": False},
    }  # fmt: skip
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}, "plugin": {"dtms": table}})
    plugins = load_plugins(config, builtins={"dtms": DtmsPlugin()}, entry_points=[], env={})
    host = Host(broker, market, market, config, plugins, mode="live")
    plugins.configure(host)
    await plugins.startup(host)
    try:
        async with serving(plugins, host, 0) as (url, names):
            assert names == ["dtms"]
            yield host, url
    finally:
        await plugins.shutdown(host)
