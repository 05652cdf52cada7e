"""``trades()`` reads every trade page by page against a real server while the trades
change between its pages: a close, an unregistration or a registration between two pages
never drops nor repeats a trade kept all along (paged by ``offset``, a trade closed on
the first page moved every open trade after it, and one was on neither page)."""

from __future__ import annotations

from typing import Any

import pytest
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient, aio

from .conftest import Served

TICKETS = range(1, 31)


async def _changed_between_pages(
    served: Served, monkeypatch: pytest.MonkeyPatch, change: str
) -> tuple[dict[int, Any], list[int], int]:
    """``trades()`` of 30 open trades in pages of 10, with ``change`` made to a trade of
    the first page once that page is read; the answer, every ticket of every page read,
    and the ticket changed."""
    monkeypatch.setattr(aio, "TRADES_PAGE", 10)
    async with AsyncDtmsClient(served.url) as dtms:
        await dtms.register_many([registration(t) for t in TICKETS])
        real = AsyncDtmsClient._json
        read: list[int] = []
        changed: list[int] = []

        async def spy(self: AsyncDtmsClient, method: str, path: str, **kw: Any) -> Any:
            body = await real(self, method, path, **kw)
            if path != "/dtms/trades" or method != "GET":
                return body
            read.extend(int(t) for t in body["trades"])
            if not changed:  # the first page: change one of its trades
                changed.append(int(next(iter(body["trades"]))))
                await _change(self, change, changed[0])
            return body

        monkeypatch.setattr(AsyncDtmsClient, "_json", spy)
        return await dtms.trades(), read, changed[0]


async def _change(dtms: AsyncDtmsClient, change: str, ticket: int) -> None:
    if change == "close":
        assert await dtms.report_closed(ticket, reason="tp", profit=5.0) is not None
    elif change == "delete":
        assert await dtms.unregister(ticket) is True
    else:  # a new trade, opened after every other
        assert (await dtms.register(registration(100))).ok


@pytest.mark.parametrize("change", ["close", "delete", "register"])
async def test_a_change_between_pages_never_drops_or_repeats_a_trade(
    served: Served, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    trades, read, changed = await _changed_between_pages(served, monkeypatch, change)
    kept_all_along = set(TICKETS) - {changed}
    assert kept_all_along <= set(trades), sorted(kept_all_along - set(trades))
    assert len(read) == len(set(read)), sorted(t for t in read if read.count(t) > 1)


async def test_after_pages_by_ticket_and_says_where_the_next_page_starts(served: Served) -> None:
    async with AsyncDtmsClient(served.url) as dtms:
        await dtms.register_many([registration(t) for t in TICKETS])
        await dtms.report_closed(3, reason="tp", profit=5.0)
        first = await dtms.call("GET", "/dtms/trades", params={"after": "0", "limit": "10"})
        assert list(first.body["trades"]) == [str(t) for t in range(1, 11)]
        assert (first.body["next_after"], first.body["more"], first.body["total"]) == (10, True, 30)
        last = await dtms.call("GET", "/dtms/trades", params={"after": "20", "limit": "10"})
        assert list(last.body["trades"]) == [str(t) for t in range(21, 31)]
        assert (last.body["next_after"], last.body["more"]) == (None, False)
        skip = {"after": "5", "offset": "10", "limit": "10"}
        both = await dtms.call("GET", "/dtms/trades", params=skip)
        assert list(both.body["trades"]) == [str(t) for t in range(16, 26)]
