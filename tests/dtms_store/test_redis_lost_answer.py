"""A write whose answer Redis did not give in time is applied once, never twice."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime

import pytest
import redis
from support.e2e_procs import wait_for
from support.redis_server import RedisServer

from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore

AT = datetime(2025, 1, 2, tzinfo=UTC)


BUSY = """
local t = redis.call('TIME')
local stop = t[1] * 1e6 + t[2] + tonumber(ARGV[1]) * 1000
repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= stop
return 1
"""


def _busy(server: RedisServer, ms: int) -> threading.Thread:
    """Redis runs another client's script for ``ms``: a call sent meanwhile runs after it,
    when a client with a shorter timeout has given up waiting for its answer. Returns
    once Redis runs it (a PING goes unanswered), the thread waiting for its answer: a
    fixed wait for a thread to connect and send it was a race a loaded machine can lose
    (the call under test then ran first and was answered)."""
    admin = redis.Connection(host=server.host, port=server.port)
    admin.connect()
    admin.send_command("EVAL", BUSY, 0, ms)  # sent: Redis runs it next

    def answer() -> None:
        try:
            admin.read_response()
        finally:
            admin.disconnect()

    thread = threading.Thread(target=answer)
    thread.start()
    wait_for(lambda: not _answers(server), timeout=10, what="Redis to run the script")
    return thread


def _answers(server: RedisServer) -> bool:
    """Does Redis answer a PING within 0.1 s (a raw socket: redis-py retries timeouts)?"""
    with socket.create_connection((server.host, server.port), timeout=0.1) as probe:
        probe.sendall(b"PING\r\n")
        try:
            return probe.recv(16).startswith(b"+PONG")
        except TimeoutError:
            return False


def _entry(ticket: int, key: str) -> dict[str, object]:
    return {"type": "action", "ticket": ticket, "key": key, "at": AT.isoformat()}


def test_a_batch_whose_answer_timed_out_is_applied_once(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url(), timeout=0.3)
    store.put_record(1, {"ticket": 1, "state": "OPEN"})
    busy = _busy(redis_server, 1000)
    kept = False
    try:
        with store.batch():
            store.put_record(1, {"ticket": 1, "state": "CLOSED"})
            store.append_actions([_entry(1, "close")])
    except StoreError as exc:
        kept = exc.unavailable
    busy.join()  # the batch ran after it, unanswered
    if kept:  # the engine writes what it kept again
        with store.batch():
            store.put_record(1, {"ticket": 1, "state": "CLOSED"})
            store.append_actions([_entry(1, "close")])
    assert [a["key"] for a in store.actions(1)] == ["close"]
    assert store.get_record(1) == {"ticket": 1, "state": "CLOSED"}
    store.put_record(1, {"ticket": 1, "state": "CLOSED", "more": 1})  # still its own
    assert 1 not in store.refused
    store.close()


def test_history_whose_answer_timed_out_is_appended_once(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url(), timeout=0.3)
    busy = _busy(redis_server, 1000)
    entries = [_entry(1, "move"), _entry(2, "hedge")]
    try:
        store.append_actions(entries)
    except StoreError as exc:
        assert exc.unavailable
    busy.join()
    store.append_actions(entries)  # the engine writes what it kept again
    assert sorted(a["key"] for a in store.actions()) == ["hedge", "move"]
    store.close()


def test_missing_records_are_told_from_a_read_that_succeeded(redis_server: RedisServer) -> None:
    """A read that fails is no "absent": the engine would write such a record again over
    its newer version (local_commits._write_vanished)."""
    store = RedisStore(redis_server.url(), timeout=0.3)
    store.put_record(1, {"ticket": 1})
    assert store.missing([1, 2]) == [2]
    busy = _busy(redis_server, 1000)
    try:
        with pytest.raises(StoreError, match="cannot read records"):
            store.missing([1])
    finally:
        busy.join()
    store.close()
