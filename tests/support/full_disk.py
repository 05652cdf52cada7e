"""A store whose disk is full, as SQLite sees one: the database capped at its size on the
store's own connection (``PRAGMA max_page_count``), then filled until SQLite answers
SQLITE_FULL, "database or disk is full", as it does on a full disk."""

from __future__ import annotations

from typing import Any

from dtms_plugin.store import StoreError

FULL = "database or disk is full"


def cap(store: Any, *, full: bool) -> None:
    """``store``'s disk full (or given room again), on the connection of the thread that
    calls it: the one whose writes are to fail."""
    con = store._cache._con
    if not full:
        con.execute("PRAGMA max_page_count = 1073741823")
        return
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages}")
    # the pages' free room too, until SQLite says full even of the smallest value: a
    # room left that a large value does not fit may still take a registration's record
    n = 0
    for size in (4000, 400, 40, 1):
        for _ in range(10_000):
            n += 1
            try:
                store.put_value(f"pad:{n}", "x" * size)
            except StoreError:
                break
        else:
            raise AssertionError("the store never filled")


async def disk(service: Any, *, full: bool) -> None:
    """A ``dtms serve`` store's disk full (or given room again), on the engine thread's
    connection."""
    store = service.store

    async def change() -> None:
        cap(store, full=full)

    await service.engine.run(change())
