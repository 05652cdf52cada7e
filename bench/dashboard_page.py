"""What the dashboard's poll costs a server that keeps many trades: one page of ``GET
/dtms/trades`` as the dashboard asks it (``?journal=0&limit=100``), against every trade
read page by page at the largest page the server gives (``?limit=1000&offset=…``, the
whole list, as an export-like client reads it since the list is paged), on a store of
22,600 records (200 open, the rest closed, each with a few journalled stop moves: a
month of a busy account under the default retention), through the read-only dashboard
routes of a host running the local engine (``web_routes``), on a real aiohttp server on
127.0.0.1.

Prints milliseconds (median of several requests; for every trade, of several walks of
all the pages) and bytes for each; the last line is JSON: ``all_ms``, ``all_bytes``,
``all_pages``, ``page_ms``, ``page_bytes``. The page polls every 2 s, so a figure near
1,000 ms is a server busy half the time for one open dashboard. Also ``status_ms``, the
``GET /dtms/status`` the page polls with it, and ``upgrade_page_ms``: the first page on
the same store once every record's listing is taken away, as a version before the
listing left them (the page rebuilds them all once, docs/architecture.md §9).
``--quick``: 2,000 records (200 open), the same requests in seconds
(tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from dtms_plugin.engine import begin, close_record, finish, register
from dtms_plugin.local import LocalStrategy
from dtms_plugin.record_encoding import record_json
from dtms_plugin.server.dashboard import PAGE_MAX
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import routes
from hookspecs import Action, ActionKind, ActionResult, Trade

TRADES = 22_600
QUICK_TRADES = 2_000
OPEN = 200
START = datetime(2026, 1, 5, tzinfo=UTC)
SETTINGS = DtmsSettings()


def record(ticket: int, total: int = TRADES) -> dict[str, object]:
    """A record as the local engine leaves it: three stop moves, closed unless among the
    newest ``OPEN`` of ``total``."""
    at = START + timedelta(minutes=2 * ticket)
    trade = Trade(ticket, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, None, at)
    rec = register(trade, None, at)
    for n in range(3):
        action = Action(
            ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1991.0 + n}, "trail", f"{ticket}:1:sl{n}"
        )
        rec = finish(begin(rec, action, at), action, ActionResult.success("modified"), at, SETTINGS)
    if ticket <= total - OPEN:
        closed = Trade(
            ticket,
            "XAUUSD",
            "buy",
            0.1,
            2000.0,
            1993.0,
            None,
            at,
            profit=-7.0,
            closed_at=at + timedelta(hours=1),
        )
        rec, _ = close_record(rec, closed, "sl", at + timedelta(hours=1))
    return record_json(rec, at)


def forget_listing(store: Store) -> None:
    """Every record's listing taken away (the ``tag`` of its row), as a version before
    the listing wrote them."""
    con = sqlite3.connect(store.directory / "cache.db")
    try:
        con.execute("UPDATE Cache SET tag = NULL WHERE key >= 'trade:' AND key < 'trade;'")
        con.commit()
    finally:
        con.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def timed(session: aiohttp.ClientSession, url: str, runs: int) -> tuple[float, int]:
    spans, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        async with session.get(url) as response:
            body = await response.read()
            assert response.status == 200, (response.status, body[:200])
        spans.append(time.perf_counter() - t0)
        size = len(body)
    return statistics.median(spans) * 1000.0, size


async def timed_pages(
    session: aiohttp.ClientSession, base: str, runs: int, expected: int
) -> tuple[float, int, int]:
    """Every trade, page after page of ``PAGE_MAX``: the median time of a whole walk, its
    bytes and its pages. Checks that the walk saw ``expected`` trades."""
    spans, size, pages = [], 0, 0
    for _ in range(runs):
        t0 = time.perf_counter()
        size = pages = seen = 0
        while True:
            url = f"{base}?limit={PAGE_MAX}&offset={seen}"
            async with session.get(url) as response:
                body = await response.read()
                assert response.status == 200, (response.status, body[:200])
            got = len(json.loads(body)["trades"])
            size, pages, seen = size + len(body), pages + 1, seen + got
            if got < PAGE_MAX:
                break
        spans.append(time.perf_counter() - t0)
        assert seen == expected, (seen, expected)
    return statistics.median(spans) * 1000.0, size, pages


async def main(trades: int) -> int:
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "dtms") as store:
        rows = {t: record(t, trades) for t in range(1, trades + 1)}
        with store.batch():
            store.put_records(rows)
        app = web.Application()  # as a host's app serves DTMS's web_routes
        app.add_routes(routes(LocalStrategy(SETTINGS, store), SETTINGS))
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with aiohttp.ClientSession() as session:
                base = f"http://127.0.0.1:{port}/dtms/trades"
                all_ms, all_bytes, pages = await timed_pages(session, base, 5, trades)
                page_ms, page_bytes = await timed(session, base + "?journal=0&limit=100", 9)
                status_ms, _ = await timed(session, f"http://127.0.0.1:{port}/dtms/status", 9)
                forget_listing(store)
                upgrade_ms, _ = await timed(session, base + "?journal=0&limit=100", 1)
        finally:
            await runner.cleanup()
    print(
        f"GET /dtms/trades, all {trades:,} trades in {pages} pages of {PAGE_MAX:,}: "
        f"{all_ms:,.0f} ms, {all_bytes:,} bytes"
    )
    print(f"GET /dtms/trades?journal=0&limit=100: {page_ms:,.0f} ms, {page_bytes:,} bytes")
    print(f"GET /dtms/status: {status_ms:,.0f} ms")
    print(
        f"the same page, the first after an upgrade (every listing rebuilt): {upgrade_ms:,.0f} ms"
    )
    print(
        json.dumps(
            {
                "all_ms": round(all_ms, 1),
                "all_bytes": all_bytes,
                "all_pages": pages,
                "page_ms": round(page_ms, 1),
                "page_bytes": page_bytes,
                "status_ms": round(status_ms, 1),
                "upgrade_page_ms": round(upgrade_ms, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRADES:,} records")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(QUICK_TRADES if args.quick else TRADES)))
