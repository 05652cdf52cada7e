"""Reading every trade of ``GET /dtms/trades``, page by page, for :meth:`trades`.

Why a cursor (``after``, the last ticket read) and not ``offset``: an offset counts rows
of an order that moves (a trade that closes goes from the open trades to the closed
ones), so a trade closed, unregistered or registered between two pages shifted every row
after it, and ``offset=len(read)`` skipped a still-open trade. Tickets never move: from
the last one read, every trade kept all along is read once (docs/client.md, "Asking").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .bodies import DtmsError, by_ticket, part_of

#: one page of ``GET /dtms/trades`` asked with these query parameters, its JSON body
PageReader = Callable[[dict[str, str]], Awaitable[Any]]


async def every_trade(
    read: PageReader, url: str, state: str | None, size: int
) -> dict[int, dict[str, Any]]:
    """Every trade (in ``state``, when given), by integer ticket, ``size`` a page, from
    ticket to ticket; by ``offset`` from a server that does not take ``after``: one that
    refuses it (an earlier version: its 400 naming it), or one that ignores it (an
    earlier version, or a proxy dropping the parameter): a page that says there is more
    (``more``, or a ``total`` beyond it) with no ``next_after`` to go on from. Stopping
    there read one page and dropped every other trade without a word."""
    out: dict[int, dict[str, Any]] = {}
    after: int | None = 0
    while after is not None:
        params = _params(state, size, after=str(after))
        try:
            body = await read(params)
        except DtmsError as exc:
            if not _refused_param(exc, "after"):
                raise
            return await _by_offset(read, url, state, size)
        page = part_of(url, body, "trades", dict)
        out.update(by_ticket(url, page))
        following = body.get("next_after")
        if not isinstance(following, int) and page and _more(body, len(page)):
            out.update(await _by_offset(read, url, state, size))  # from its first page
            return out
        after = following if isinstance(following, int) and page else None
    return out


async def _by_offset(
    read: PageReader, url: str, state: str | None, size: int
) -> dict[int, dict[str, Any]]:
    """What every server answers: pages by ``offset`` (a trade that closes between two
    of them can be missed, as above)."""
    out: dict[int, dict[str, Any]] = {}
    while True:
        body = await read(_params(state, size, offset=str(len(out))))
        page = part_of(url, body, "trades", dict)
        out.update(by_ticket(url, page))
        if not page or not _more(body, len(out)):
            return out


def _more(body: dict[str, Any], read: int) -> bool:
    """Whether a page says more follow, ``read`` trades read so far: its ``more``, or
    an older server's ``total``."""
    more = body.get("more")
    if more is None and isinstance(body.get("total"), int):  # an older server's page
        more = read < body["total"]
    return more is True


def _params(state: str | None, size: int, **where: str) -> dict[str, str]:
    params = {"limit": str(size), **where}
    if state:
        params["state"] = state
    return params


def _refused_param(exc: DtmsError, name: str) -> bool:
    """The server's 400 naming the query parameter ``name``: one it does not take."""
    body = exc.body if isinstance(exc.body, dict) else {}
    return exc.status == 400 and body.get("field") == name
