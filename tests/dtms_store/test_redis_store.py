"""What only the Redis backend does: fencing of record writes by version, JSON-only values,
one-line errors, and ``[plugin.dtms] store`` choosing it. The API it shares with the
diskcache backend is tested by test_store_api.py against both."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from support.redis_server import RedisServer

from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store, StoreError
from dtms_plugin.store.location import open_store
from dtms_plugin.store.redis_store import RedisStore, StaleWrite


def test_a_replica_that_lost_a_trade_cannot_overwrite_it(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisStore(redis_server.url()) as old, RedisStore(redis_server.url()) as new:
        old.put_record(7, {"state": "HEALTHY", "n": 1})
        assert new.adopt([7]) == {7: {"state": "HEALTHY", "n": 1}}  # took the lease over
        new.put_record(7, {"state": "HEDGED", "n": 2})
        assert old.get_record(7) == {"state": "HEDGED", "n": 2}  # reading does not re-arm
        with pytest.raises(StaleWrite, match="ticket 7 is at version 2"):
            old.put_record(7, {"state": "WARNING_L1", "n": 3})
        with pytest.raises(StaleWrite), old.batch():  # the whole batch is refused
            old.put_record(8, {"n": 1})
            old.append_action({"ticket": 7, "kind": "hedge"})
            old.put_record(7, {"state": "WARNING_L1", "n": 3})
        with pytest.raises(StaleWrite):
            old.delete_record(7)
        assert new.records() == {7: {"state": "HEDGED", "n": 2}}
        assert new.actions() == []
        new.put_record(7, {"state": "RECOVERING", "n": 3})  # the owner goes on
        assert old.get_record(7) == {"state": "RECOVERING", "n": 3}
    assert "another replica owns it now" in caplog.text


def test_a_write_refused_because_the_record_is_gone_says_it_is_gone(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Version 0 is no record at all: not a newer one that another replica owns."""
    with RedisStore(redis_server.url()) as old, RedisStore(redis_server.url()) as other:
        old.put_record(1010, {"state": "HEALTHY"})
        other.adopt([1010])
        other.archive_record(1010)  # gone: archived by another replica
        with pytest.raises(StaleWrite) as refused:
            old.put_record(1010, {"state": "WARNING_L1"})
    said = str(refused.value)
    assert "the record of ticket 1010 is gone from the store since this replica read it" in said
    assert "version 0" not in said and "another replica owns it now" not in caplog.text


def test_a_new_owner_fences_the_old_one_before_writing(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url()) as old, RedisStore(redis_server.url()) as new:
        old.put_record(7, {"n": 1})
        assert new.adopt([7], fence=True) == {7: {"n": 1}}  # nothing written yet
        with pytest.raises(StaleWrite):
            old.put_record(7, {"n": 2})  # prepared before the takeover: refused
        assert old.refused == {7}
        new.put_record(7, {"n": 2})
        assert new.get_record(7) == {"n": 2}


def test_a_new_ticket_already_written_by_another_is_refused(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url()) as a, RedisStore(redis_server.url()) as b:
        a.put_record(1, {"by": "a"})
        with pytest.raises(StaleWrite):
            b.put_record(1, {"by": "b"})  # b never read it: it expected no record
        assert a.get_record(1) == {"by": "a"}


def test_every_value_in_redis_is_json_text(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url()) as s:
        s.put_record(1, {"a": [1, 2]})
        s.put_state(1, "HEDGED", datetime.now(UTC))
        s.append_action({"ticket": 1})
        s.outbox_put(1, {"kind": "register"})
        s.put_value("x", [1])
    client = redis.Redis.from_url(redis_server.url(), decode_responses=True)
    try:
        keys = client.keys("*")
        assert keys and all(k.startswith("dtms:") for k in keys)
        for key in keys:
            kind = client.type(key)
            if kind == "string" and not key.endswith(("seq", ":order")):
                json.loads(client.get(key))
            elif kind == "hash" and key.startswith("dtms:trade:"):
                json.loads(client.hget(key, "j"))
            elif kind == "hash":
                for text in client.hvals(key):
                    json.loads(text)
    finally:
        client.close()


def test_unreachable_redis_is_one_line_naming_it_without_password() -> None:
    with pytest.raises(StoreError) as info:
        RedisStore("redis://user:secret@127.0.0.1:1/0", timeout=0.5)
    message = str(info.value)
    assert message.startswith("cannot open store redis://***@127.0.0.1:1/0: ")
    assert "secret" not in message and "\n" not in message


def test_unreadable_value_is_logged_and_absent(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url(redis_server.url())
    client.set("dtms:outbox:3", b"\x80pickle")
    client.zadd("dtms:outboxes", {"3": 1})
    client.close()
    with RedisStore(redis_server.url()) as s, caplog.at_level(logging.ERROR):
        assert s.outbox_get(3) is None and s.outbox_items() == []
    assert "treated as absent" in caplog.text


def test_store_setting_chooses_the_backend(redis_server: RedisServer, tmp_path: Path) -> None:
    settings = DtmsSettings(store=redis_server.url(2), state_dir=str(tmp_path / "d"))
    with open_store(settings.store, settings.state_dir) as chosen:
        assert isinstance(chosen, RedisStore)
    with open_store("", str(tmp_path / "d")) as default:
        assert isinstance(default, Store)
    with pytest.raises(ValueError, match="store: expected a redis://host:port/db URL"):
        DtmsSettings(store="/var/lib/dtms")
