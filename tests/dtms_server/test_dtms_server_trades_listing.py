"""A page of ``GET /dtms/trades`` (the dashboard's poll) is chosen from the records'
listing and decodes only its own records, and answers byte for byte what reading every
record answered (tests/support/dashboard_reference.py, the algorithm before the listing),
for every filter, page and ``journal``, on both backends: on varied records (hypothesis),
on a store written by a version before the listing, on a damaged listing, and while the
engine writes between the listing and the page."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.dashboard_reference import SYMBOLS, records, reference_all_trades, tickets

from dtms_plugin.server.dashboard import Page, all_trades
from dtms_plugin.server.routes import encoded
from dtms_plugin.server.trades_query import STATE_NAMES, Filters
from dtms_plugin.store import Encoded, Store, StoreProtocol

Fresh = Callable[[], StoreProtocol]
MODE = {"defensive": False, "until": None, "reason": None}


@pytest.fixture(params=["diskcache", "redis"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    """Each call: an empty store of the backend under test (a new directory, or the
    Redis database emptied)."""
    opened: list[StoreProtocol] = []

    def fresh() -> StoreProtocol:
        if request.param == "redis":
            from dtms_plugin.store.redis_store import RedisStore

            store: StoreProtocol = RedisStore(request.getfixturevalue("redis_server").url(1))
            store.client.flushdb()  # type: ignore[attr-defined]
        else:
            store = Store(tmp_path / f"dtms{len(opened)}")
        opened.append(store)
        return store

    yield fresh
    for store in opened:
        store.close()


def _filters() -> st.SearchStrategy[Filters]:
    subsets = lambda values: st.none() | st.frozensets(st.sampled_from(values), min_size=1)  # noqa: E731
    return st.builds(Filters, subsets(list(STATE_NAMES)), subsets([*SYMBOLS, "NONE"]))


def _pages() -> st.SearchStrategy[Page | None]:
    return st.none() | st.builds(Page, st.integers(0, 45), st.integers(1, 45))


def _same(store: StoreProtocol, page: Page | None, filters: Filters, journal: bool) -> None:
    kwargs: dict[str, Any] = dict(
        account_defensive=False, account_mode=MODE, page=page, filters=filters, journal=journal
    )
    expected = encoded(reference_all_trades(store, **kwargs))
    assert encoded(all_trades(store, **kwargs)) == expected


def _store_rows(store: StoreProtocol, rows: dict[int, dict[str, Any]], how: str) -> None:
    if how == "encoded":  # as the local engine writes them: JSON text from a dataclass
        store.put_records({t: Encoded(json.dumps(r)) for t, r in rows.items()})
    elif how == "one":
        for ticket, record in rows.items():
            store.put_record(ticket, record)
    else:
        with store.batch():
            store.put_records(rows)


def _strip(store: StoreProtocol, tickets: list[int], value: str | None = None) -> None:
    """The stored entries of ``tickets`` made absent (an older version) or ``value``."""
    if isinstance(store, Store):
        con = sqlite3.connect(store.directory / "cache.db")
        con.executemany(
            "UPDATE Cache SET tag = ? WHERE key = ?", [(value, f"trade:{t}") for t in tickets]
        )
        con.commit()
        con.close()
        return
    client: Any = store.client  # type: ignore[attr-defined]
    for ticket in tickets:
        if value is None:
            client.hdel(f"dtms:trade:{ticket}", "l", "lv")
        else:
            client.hset(f"dtms:trade:{ticket}", "l", value)


def _row(state: str, day: int, symbol: str = "XAUUSD") -> dict[str, Any]:
    """A record opened on January ``day``, closed (when CLOSED) on February ``day``."""
    record = {"state": state, "symbol": symbol, "opened_at": f"2026-01-{day:02}", "journal": []}
    return {**record, "closed_at": f"2026-02-{day:02}"} if state == "CLOSED" else record


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_answer_is_the_full_reads_answer(fresh_store: Fresh, data: st.DataObject) -> None:
    store = fresh_store()
    rows = data.draw(st.dictionaries(tickets(), records(), max_size=40), label="records")
    _store_rows(store, rows, data.draw(st.sampled_from(["encoded", "one", "batch"])))
    damage = data.draw(st.sampled_from([None, "older", "junk"]), label="listing")
    if damage is not None and rows:  # some records written without (or with a bad) entry
        some = data.draw(st.lists(st.sampled_from(sorted(rows)), unique=True), label="of")
        _strip(store, some, None if damage == "older" else "[1,7]")
    for _ in range(data.draw(st.integers(1, 4))):
        _same(store, data.draw(_pages()), data.draw(_filters()), data.draw(st.booleans()))


def test_every_query_of_a_varied_store_is_the_full_reads_answer(fresh_store: Fresh) -> None:
    """Every page size and offset of every filter, on records whose times tie (the same
    instant written three ways), are missing or unreadable, nested under ``trade``."""
    store = fresh_store()
    times = ["2026-01-05T10:00:00+00:00", "2026-01-05T10:00:00", "2026-01-05T12:00:00+02:00"]
    rows: dict[int, dict[str, Any]] = {}
    for n in range(1, 31):
        state = ["HEALTHY", "CLOSED", "HEDGED", "CLOSED", "bogus", "WARNING_L2"][n % 6]
        when = [*times, "nonsense", None][n % 5]
        record: dict[str, Any] = {"state": state, "journal": [{"key": f"k{n}", "at": "x"}]}
        fields = {"symbol": SYMBOLS[n % 3], "opened_at": when, "closed_at": times[n % 3]}
        record.update(fields) if n % 4 else record.update(trade=fields)
        rows[n if n % 7 else 2**64 - n] = record
    _store_rows(store, rows, "batch")
    for filters in (
        Filters(),
        Filters(states=frozenset({"CLOSED"})),
        Filters(states=frozenset({"HEALTHY", "HEDGED"}), symbols=frozenset({"XAUUSD"})),
        Filters(symbols=frozenset({"EURUSD", "BTC/USD"})),
    ):
        _same(store, None, filters, True)
        for limit in (1, 2, 7, 30, 100):
            for offset in range(0, 33, 3):
                _same(store, Page(offset, limit), filters, offset % 2 == 0)


def test_a_page_decodes_its_own_records_only(
    fresh_store: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 trades, a page of 100: the listing is read, and 100 records decoded (the
    full read decoded all 2,000 for every poll of the dashboard)."""
    store = fresh_store()
    rows = {t: _row("CLOSED" if t % 10 else "HEALTHY", t % 28 + 1) for t in range(1, 2001)}
    _store_rows(store, rows, "batch")
    decoded: list[str] = []
    if isinstance(store, Store):
        disk = store._cache.disk
        fetch = disk.fetch

        def counting(mode: int, filename: Any, value: Any, read: bool) -> Any:
            decoded.append(value)
            return fetch(mode, filename, value, read)

        monkeypatch.setattr(disk, "fetch", counting)
    else:
        decode = store._decode  # type: ignore[attr-defined]

        def counting_decode(key: str, text: object) -> Any:
            if key.startswith("trade:"):
                decoded.append(key)
            return decode(key, text)

        monkeypatch.setattr(store, "_decode", counting_decode)
    page = all_trades(
        store, account_defensive=False, account_mode=MODE, page=Page(100, 100), journal=False
    )
    assert (page["total"], len(page["trades"]), page["more"]) == (2000, 100, True)
    assert len(decoded) <= 100 + 100  # the page's records (and their journal rows)
    monkeypatch.undo()
    _same(store, Page(100, 100), Filters(), False)


def test_an_upgraded_store_answers_the_same_pages_and_says_so_once(
    fresh_store: Fresh, caplog: pytest.LogCaptureFixture
) -> None:
    store = fresh_store()
    rows = {t: _row(["HEALTHY", "CLOSED"][t % 2], t, SYMBOLS[t % 3]) for t in range(1, 29)}
    _store_rows(store, rows, "batch")
    _strip(store, list(rows))  # as a version before the listing wrote them
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    for offset in (0, 10, 20):
        _same(store, Page(offset, 10), Filters(), False)
    lines = [r.getMessage() for r in caplog.records if "rebuilt" in r.getMessage()]
    assert len(lines) == 1 and "28 records" in lines[0], lines


@pytest.mark.parametrize("lie", ['[1,"HEALTHY","XAUUSD","2030-01-01T00:00:00",null]', "junk"])
def test_a_damaged_listing_is_rebuilt_and_the_pages_stay_right(
    fresh_store: Fresh, caplog: pytest.LogCaptureFixture, lie: str
) -> None:
    """An entry that is not one is rebuilt at once; one that lies (says an old CLOSED
    trade is open and the newest) is found on the page it puts its trade on, rebuilt,
    and the page chosen again."""
    store = fresh_store()
    rows = {t: _row("CLOSED", t) for t in range(1, 21)}
    rows[21] = _row("HEALTHY", 21)
    _store_rows(store, rows, "batch")
    _strip(store, [3], lie)
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    _same(store, Page(0, 5), Filters(), False)
    assert len([r for r in caplog.records if "rebuilt" in r.getMessage()]) == 1
    _same(store, Page(0, 5), Filters(states=frozenset({"HEALTHY"})), True)


def test_a_record_written_between_the_listing_and_the_page_is_answered_as_it_is_now(
    fresh_store: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine closes a trade after the listing was read and before the page's
    records are: the page is chosen again, as a full read now would choose it."""
    store = fresh_store()
    rows = {t: _row("HEALTHY", t) for t in range(1, 11)}
    _store_rows(store, rows, "one")
    real = store.get_records
    writes = [{"state": "CLOSED", "opened_at": "2026-01-10", "closed_at": "2026-03-01"}]

    def engine_writes_first(tickets: Any) -> dict[int, dict[str, Any]]:
        if writes:
            store.put_record(10, writes.pop())
        return real(tickets)

    monkeypatch.setattr(store, "get_records", engine_writes_first)
    page = all_trades(store, account_defensive=False, account_mode=MODE, page=Page(0, 3))
    monkeypatch.undo()
    assert list(page["trades"]) == ["9", "8", "7"]  # 10 is CLOSED now: last
    _same(store, Page(0, 3), Filters(), True)
