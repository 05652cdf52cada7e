"""DtmsClient (sync) used from plain threads against a real DTMS server on loopback."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from dtms_plugin.client import DtmsClient

from .conftest import Served


def _body(ticket: int) -> dict[str, object]:
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
            "volume": 1.0, "stop_loss": 1990.0, "take_profit": 2020.0}  # fmt: skip


def _work(client: DtmsClient, ticket: int) -> tuple[str, str, bool, str | None]:
    registered = client.register(_body(ticket)).outcome
    again = client.register(_body(ticket)).outcome
    defensive = client.is_defensive(ticket)
    state = client.state(ticket)
    return registered, again, defensive, state["state"] if state else None


def _from_threads(url: str) -> tuple[list[tuple[str, str, bool, str | None]], set[str], int]:
    names: set[str] = set()
    with DtmsClient(url) as client, ThreadPoolExecutor(max_workers=8) as pool:

        def job(ticket: int) -> tuple[str, str, bool, str | None]:
            names.add(threading.current_thread().name)
            return _work(client, ticket)

        results = list(pool.map(job, range(100, 140)))
        count = client.status()["trades"]
        closed = client.report_closed(100, "sl", -4.0)
        assert closed is not None and closed["trade_info"]["realised_profit"] == -4.0
    return results, names, count


async def test_one_sync_client_shared_by_eight_threads(served: Served) -> None:
    results, names, count = await asyncio.to_thread(_from_threads, served.url)
    assert results == [("registered", "already", False, "HEALTHY")] * 40
    assert len(names) > 1
    assert count == 40


async def test_the_sync_client_stops_its_thread_on_close(served: Served) -> None:
    def use() -> None:
        client = DtmsClient(served.url)
        assert client.health()["status"] == "healthy"
        client.close()
        client.close()  # twice is harmless

    before = {t.name for t in threading.enumerate()}
    await asyncio.to_thread(use)
    assert "dtms-client" not in {t.name for t in threading.enumerate()} - before
