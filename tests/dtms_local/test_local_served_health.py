"""The ``/health`` a host serves with its own DTMS engine (``hostapp run --live --serve``:
the routes DTMS gives the host's web app through ``web_routes``) says what ``dtms
serve``'s says of the same engine (docs/dtms.md §8): the trades skipped for their own
failure under ``failing_trades`` (200 still), and, as problems (503), the broker reads
every cycle needs failing and the cycles failing, with how many in a row.

It said neither the failing trades nor the broker reads: a host whose engine could not
read the broker's positions for an hour answered "healthy". Real parts: the host's web
app on 127.0.0.1, the plugin loaded and called by the host's PluginHost, a paper account
file and a store in ``tmp_path``; the broker's faults are switched on by the test
(tests/support/served_host.py)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.dtms_kit import trade
from support.hedged_paper import PaperMarket, open_buy
from support.served_host import TroubledBroker, served_host, troubled_broker

from hookspecs import BrokerError
from hostapp.host import Host


async def _get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        return reply.status, await reply.json()


async def _cycles(host: Host, market: PaperMarket, broker: TroubledBroker, n: int) -> None:
    for _ in range(n):
        await host.plugins.on_cycle(host, market.step(broker))


async def test_a_trade_that_fails_its_step_is_named_by_the_hosts_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    broker = troubled_broker(market)
    broker.unreadable = frozenset({999})
    async with served_host(tmp_path, market, broker) as (host, url):
        good = open_buy(broker)
        await host.plugins.on_trade_executed(host, good)
        # a trade the broker no longer lists, which it cannot say how it closed
        gone = replace(trade(ticket=999, entry=good.entry_price), opened_at=market.now())
        await host.plugins.on_trade_executed(host, gone)
        caplog.set_level(logging.DEBUG, logger="dtms_plugin")
        await _cycles(host, market, broker, 3)

        status, health = await _get(url + "health")
        assert (status, health["status"], health["problems"]) == (200, "healthy", [])
        [failing] = health["failing_trades"]
        assert failing.startswith("trade 999: its cycle failed 3 times in a row (OverflowError")
        assert health["waiting"] == []
        engine = (await _get(url + "dtms/status"))[1]["engine"]
        assert engine["failing_trades"] == health["failing_trades"]
        assert (engine["healthy"], engine["problems"]) == (True, [])
        said = [r for r in caplog.records if r.levelno >= logging.WARNING and "999" in r.message]
        assert len(said) == 1  # once for the episode


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (
            BrokerError("terminal disconnected"),
            "the broker cannot give its positions (3 failed cycles in a row): terminal "
            "disconnected",
        ),
        (
            RuntimeError("adapter bug"),
            "the last 3 cycles failed: RuntimeError: adapter bug",
        ),
    ],
)
async def test_a_broker_read_that_fails_every_cycle_is_said_once_and_by_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: Exception, problem: str
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    broker = troubled_broker(market)
    async with served_host(tmp_path, market, broker) as (host, url):
        await host.plugins.on_trade_executed(host, open_buy(broker))
        await _cycles(host, market, broker, 1)
        caplog.set_level(logging.DEBUG)
        broker.positions_raise = fault
        await _cycles(host, market, broker, 3)  # the breaker trips at 5

        status, health = await _get(url + "health")
        assert (status, health["status"], health["problems"]) == (503, "degraded", [problem])
        engine = (await _get(url + "dtms/status"))[1]["engine"]
        assert (engine["healthy"], engine["problems"]) == (False, [problem])
        said = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(said) == 1, [r.getMessage() for r in said]  # once for the episode
        assert sum(r.exc_info is not None for r in said) == (fault.__class__ is RuntimeError)

        broker.positions_raise = None
        await _cycles(host, market, broker, 1)
        status, health = await _get(url + "health")
        assert (status, health["problems"]) == (200, [])
        ended = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING][1:]
        if isinstance(fault, BrokerError):  # the engine's own episode ends, with its count
            assert ended == ["DTMS: the broker gives its positions again, after 3 failed cycles"]
        else:  # the host's: said after 100 calls that pass, or at the end of the run
            assert ended == []
