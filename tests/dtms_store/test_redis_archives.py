"""The Redis store's archived records (docs/dtms.md §8) are found through an index
written with them, never by scanning the keyspace (a status poll and every retention
pass did); retention's rewrite of a ticket's archived records never loses one another
replica archived meanwhile; a store written before the index is indexed once at open."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from support.redis_server import RedisServer

from dtms_plugin.store import Store
from dtms_plugin.store import redis_store as redis_store_module
from dtms_plugin.store.redis_store import RedisStore

OLD = {"state": "CLOSED", "closed_at": "2026-01-02T00:00:00+00:00", "opened_at": "a"}
LATE = {"state": "CLOSED", "closed_at": "2026-03-02T00:00:00+00:00", "opened_at": "b"}
CUT = datetime(2026, 2, 1, tzinfo=UTC)


def _archive(store: Any, ticket: int, record: dict[str, Any]) -> None:
    store.put_record(ticket, record)
    store.archive_record(ticket)


def _scans(client: redis.Redis) -> int:
    stats: Any = client.info("commandstats")
    return int(stats.get("cmdstat_scan", {}).get("calls", 0))


def test_listing_counting_and_retention_never_scan_the_keyspace(
    redis_server: RedisServer,
) -> None:
    with RedisStore(redis_server.url()) as store:
        _archive(store, 3, OLD)
        _archive(store, 3, LATE)
        _archive(store, 4, OLD)
        before = _scans(store.client)
        assert sorted(store.archives(), key=lambda e: (e[0], e[1]["opened_at"])) == [
            (3, OLD), (3, LATE), (4, OLD)
        ]  # fmt: skip
        assert store.archived_count() == 3
        store.purge_closed(CUT)
        assert store.archives() == [(3, LATE)] and store.archived_count() == 1
        assert _scans(store.client) == before


def test_a_prefix_with_glob_characters_finds_its_archives(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url(), prefix="dtms[1]:") as store:
        _archive(store, 3, OLD)
        assert store.archives() == [(3, OLD)]
        store.purge_closed(CUT)
        assert store.archives() == [] and store.archived_count() == 0


def test_an_archive_made_during_a_retention_pass_is_kept(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RedisStore(redis_server.url()) as store, RedisStore(redis_server.url()) as other:
        _archive(store, 3, OLD)
        real = redis_store_module.redis_purge_archives

        def purge_then_other_archives(*args: Any) -> None:
            real(*args)  # read ticket 3's archive, decided to remove OLD
            _archive(other, 3, LATE)  # another replica, before the write is sent

        monkeypatch.setattr(redis_store_module, "redis_purge_archives", purge_then_other_archives)
        store.purge_closed(CUT)
        assert store.archives() == [(3, OLD), (3, LATE)]  # left whole for the next pass
        monkeypatch.undo()
        store.purge_closed(CUT)
        assert store.archives() == [(3, LATE)] and store.archived_count() == 1


def test_a_store_written_before_the_index_is_indexed_once_at_open(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url(), decode_responses=True)
    prefix = "old*:"  # a glob character in the prefix too: escaped in the one SCAN
    client.set(f"{prefix}archive:3", '[{"state":"CLOSED","opened_at":"a"}]')
    client.set("oldx:archive:5", '[{"state":"CLOSED"}]')  # another prefix: not ours
    with RedisStore(redis_server.url(), prefix=prefix) as store:
        assert store.archives() == [(3, {"state": "CLOSED", "opened_at": "a"})]
        assert store.archived_count() == 1
        store.put_record(3, LATE)
        store.archive_record(3)
        assert store.archived_count() == 2
    before = _scans(client)
    with RedisStore(redis_server.url(), prefix=prefix) as store:
        assert store.archived_count() == 2
    assert _scans(client) == before  # indexed: no second scan
    client.close()


def test_a_directory_store_counts_its_archives(tmp_path: Any) -> None:
    with Store(tmp_path / "s") as store:
        assert store.archived_count() == 0
        _archive(store, 3, OLD)
        _archive(store, 3, LATE)
        assert store.archived_count() == 2
        store.purge_closed(CUT)
        assert store.archived_count() == 1
