"""The local engine while its store refuses writes: its database held by another writer
past the store's timeout, a real lock taken through a second SQLite connection (as any
other program that opens ``cache.db`` and keeps a write transaction open would).

What is pinned: the cycle fails and says the store's error (the host's breaker and ``dtms
serve``'s ``/health`` hear it, docs/dtms.md §8); nothing the engine meant to write is
lost, but written once the lock is gone (a trade closed meanwhile is CLOSED in the store,
its history whole); an action whose journal entry could not be written is not sent, and
is sent once, at the next evaluation after the lock, never counted as a failed attempt;
and the outage is said once, not on every write.
"""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from support.dtms_local_rig import Rig
from support.locked_store import locked
from support.redis_server import RedisServer, start_redis, stop_redis

from dtms_plugin.local import LocalStrategy
from dtms_plugin.store import Store, StoreError
from dtms_plugin.store.redis_store import RedisStore
from hookspecs.events import FOR_TERMINAL

#: how long a write waits for the lock before the store refuses it (the default is 5 s)
TIMEOUT = 0.2


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The rig over a store whose lock waits are short, one trade open and scored."""
    r = Rig(tmp_path / "dtms")
    store = Store(tmp_path / "dtms", timeout=TIMEOUT, log=logging.getLogger("dtms_plugin"))
    r.strategy = LocalStrategy(r.settings, store, log=logging.getLogger("dtms_plugin"))
    await r.start()
    await r.open_buy(ticket=1, volume=1.0)
    await r.cycles(2)
    yield r
    await r.stop()
    store.close()


def _stored(tmp_path: Path) -> Store:
    return Store(tmp_path / "dtms", timeout=TIMEOUT)


async def _cycle(rig: Rig) -> StoreError | None:
    """One cycle; the StoreError it failed with, if it did."""
    try:
        await rig.cycles(1)
    except StoreError as exc:
        return exc
    return None


async def test_a_cycle_whose_writes_the_store_refuses_fails_with_its_error(
    rig: Rig, tmp_path: Path
) -> None:
    """It went on as if it had worked: neither the host's breaker nor ``dtms serve``'s
    ``/health`` heard of an engine that could write nothing."""
    with locked(tmp_path / "dtms"):
        failed = await _cycle(rig)
    assert failed is not None
    assert "writing a batch failed: database locked by another writer" in str(failed)
    assert failed.unavailable
    assert await _cycle(rig) is None


async def test_a_close_the_store_refused_is_written_once_it_takes_writes_again(
    rig: Rig, tmp_path: Path
) -> None:
    """Dropped, the trade stayed open in the store (its close never changes again, so
    it was never written again), for ``is_defensive``, the dashboard and a restart."""
    with locked(tmp_path / "dtms"):
        await _cycle(rig)
        rig.broker.close(1)  # its stop, say: the host reports the close
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "stop_loss")
        await _cycle(rig)
    assert await _cycle(rig) is None
    with _stored(tmp_path) as store:
        record = store.get_record(1) or {}
        assert (record["state"], record["close_reason"]) == ("CLOSED", "stop_loss")
        state = store.get_state(1)
        assert state is not None and state[0] == "CLOSED"


async def test_an_action_the_store_could_not_journal_is_sent_once_after_the_lock(
    rig: Rig, tmp_path: Path
) -> None:
    """The ninth cycle moves the trade to WARNING_L1 with a stop move (the rig's ladder).
    Under the lock the move is not sent (no durable journal entry). It used to leave a
    pending entry in the engine's memory, which after the lock was waited for, settled as
    "not applied" and counted as a failed attempt: an outage of a few evaluations used up
    an action's retries without it ever being sent."""
    await rig.cycles(6)
    with locked(tmp_path / "dtms"):
        await _cycle(rig)
        assert rig.transitions() == [("HEALTHY", "WARNING_L1")]
        assert rig.broker.count("modify_sl_tp") == 0  # journal first: nothing sent
    assert await _cycle(rig) is None
    assert rig.broker.count("modify_sl_tp") == 1
    (entry,) = rig.strategy.records[1].journal
    assert (entry.kind.value, entry.status.value, entry.attempts) == ("tighten_sl", "done", 1)
    with _stored(tmp_path) as store:
        stored = store.get_record(1) or {}
        assert stored["state"] == "WARNING_L1"
        assert [e["status"] for e in stored["journal"]] == ["done"]
        assert [(h["kind"], h["ok"]) for h in store.actions(1)] == [("tighten_sl", True)]


async def test_the_outage_is_said_once_and_its_end_with_the_count(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin"), locked(tmp_path / "dtms"):
        for _ in range(4):
            await _cycle(rig)
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in said] == ["ERROR", "WARNING"], [r.message for r in said]
    assert "locked by another writer past the timeout (said once" in said[0].message
    assert said[1].message.startswith("DTMS: the store refuses this engine's writes")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        assert await _cycle(rig) is None
    ended = [r.message for r in caplog.records]
    assert len(ended) == 2, ended
    assert re.fullmatch(
        rf"store {re.escape(str(tmp_path / 'dtms'))}: writes go through again, after 4 writes"
        r" refused over \d+ s",
        ended[0],
    )
    assert re.fullmatch(
        r"DTMS: the store takes this engine's writes again, after refusing 4 flushes over \d+ s:"
        r" what was kept for it went with this one",
        ended[1],
    )


# ---------------------------------------------------------------- a Redis store out of reach


@pytest.fixture
async def redis_rig(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[Rig]:
    """The rig's engine on a real redis-server, one trade open and scored."""
    r = Rig(tmp_path / "dtms", store=redis_server.url())
    await r.start()
    await r.open_buy(ticket=1, volume=1.0)
    await r.cycles(2)
    yield r
    await r.stop()


def _killed(redis_server: RedisServer) -> None:
    """Redis saves what it holds (``SAVE``: its restart loads it), then dies (SIGKILL)."""
    redis.Redis.from_url(redis_server.url()).save()
    redis_server.process.send_signal(signal.SIGKILL)
    redis_server.process.wait(10)


async def test_a_redis_that_dies_and_comes_back_gets_what_was_kept_for_it(
    redis_rig: Rig, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed mid-run and started again on its port with its data: the cycles
    meanwhile fail with the store's error (each connection refused), said once, not five
    lines a cycle; a close meanwhile is in Redis once it answers."""
    _killed(redis_server)
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        failed = [await _cycle(redis_rig) for _ in range(3)]
        redis_rig.broker.close(1)
        await redis_rig.strategy.on_trade_closed(
            redis_rig.host, redis_rig.broker.closed[-1], "stop_loss"
        )
        failed.append(await _cycle(redis_rig))
    assert all(f is not None and f.unavailable for f in failed), failed
    errors = [r.message for r in caplog.records if r.levelno >= logging.ERROR]
    said = [e for e in errors if "writing a batch failed" in e or "mode unreadable" in e]
    assert len(said) == 2, errors  # the store's write, the account mode's read: once each
    back = start_redis(redis_server.directory, port=redis_server.port)
    try:
        assert await _cycle(redis_rig) is None
        with RedisStore(redis_server.url()) as store:
            record = store.get_record(1) or {}
            assert (record["state"], record["close_reason"]) == ("CLOSED", "stop_loss")
    finally:
        await redis_rig.stop()
        stop_redis(back.process)


async def test_the_account_mode_read_again_is_said_where_its_failure_was(
    redis_rig: Rig, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An open trade's cycles read the account mode: Redis gone, that is one ERROR (on
    the host's terminal); back, its end reaches the terminal too, with the count."""
    _killed(redis_server)
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        for _ in range(2):
            await _cycle(redis_rig)
        back = start_redis(redis_server.directory, port=redis_server.port)
        try:
            assert await _cycle(redis_rig) is None
        finally:
            await redis_rig.stop()
            stop_redis(back.process)
    ends = [r for r in caplog.records if "account mode read again" in r.message]
    assert len(ends) == 1 and "after 2 cycles" in ends[0].message, ends
    assert getattr(ends[0], FOR_TERMINAL, False)


async def test_records_a_redis_restarted_empty_lost_are_written_again_and_defended(
    redis_rig: Rig, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed and started again on its port without its data (no persistence):
    every write of the open trade's record was refused as stale ("another replica owns
    it now", the store expecting the version it last saw), so none of its actions could
    be journaled and the ninth cycle's stop move was never sent, until a restart. Now
    the host's engine writes the record again from memory, once, and defends it."""
    redis_server.process.send_signal(signal.SIGKILL)
    redis_server.process.wait(10)
    back = start_redis(redis_server.directory, port=redis_server.port)  # empty
    try:
        with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
            for _ in range(7):
                await _cycle(redis_rig)
        assert redis_rig.transitions() == [("HEALTHY", "WARNING_L1")]
        assert redis_rig.broker.count("modify_sl_tp") == 1
        said = [r.message for r in caplog.records if "disappeared from the store" in r.message]
        assert len(said) == 1 and said[0].endswith(": 1"), said
        with RedisStore(redis_server.url()) as store:
            record = store.get_record(1) or {}
            assert record["state"] == "WARNING_L1"
            assert [e["status"] for e in record["journal"]] == ["done"]
    finally:
        await redis_rig.stop()
        stop_redis(back.process)
