"""When a replica says its renewals come late (docs/scaling.md, "Failures"), at the
default settings (``lease_seconds = 10``, ``monitor_seconds = 5``), on a real
redis-server. The replica's monotonic clock is the test's: cycles of 5 s would take
minutes of waiting otherwise; the renewals themselves go to Redis."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from support.redis_server import RedisServer, start_redis, stop_redis

from dtms_plugin.server import replicas as replicas_module
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Monotonic seconds the test moves (``clock.now``); the wall clock as it is."""
    fake = SimpleNamespace(now=1000.0, time=time.time)
    fake.monotonic = lambda: fake.now
    monkeypatch.setattr(replicas_module, "time", fake)
    return fake


def _said(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.levelname for r in caplog.records if words in r.message]


def test_normal_cycles_at_the_default_settings_are_not_late(
    stores: list[RedisStore], clock: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    """Every replica said at start-up, with no trade at all, that it "renewed its leases
    5.0 s after the last renewal, over half their TTL (10 s)": a gap of the interval plus
    a cycle was judged against half the TTL, which the default interval is."""
    a = Replicas(stores[0], cycle_seconds=5.0, lease_seconds=10.0)
    for _ in range(4):
        a.renew(records=True)
        clock.now += 5.0 + 0.05  # the interval, and a cycle with nothing to do
    assert _said(caplog, "renewed its leases") == []
    assert _said(caplog, "lease_seconds") == []  # ten seconds is two cycles of five


def test_a_late_episode_is_said_once_and_its_end_once(
    stores: list[RedisStore], clock: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    """A real slow episode was never said, the replica being "slow" from its first cycle
    on, and its end never came (cleared only at a quarter of the TTL, under the
    interval)."""
    a = Replicas(stores[0], cycle_seconds=5.0, lease_seconds=10.0)
    a.renew(records=True)
    for gap in (5.1, 5.1):
        clock.now += gap
        a.renew(records=True)
    assert _said(caplog, "renewed its leases") == []
    clock.now += 8.0  # a cycle of 3 s: the TTL's margin over the interval half eaten
    a.renew(records=True)
    assert _said(caplog, "renewed its leases") == ["WARNING"]
    assert "renewed its leases 8.0 s after the last renewal, over 7.5 s" in caplog.text
    clock.now += 7.6  # a long cycle renews before a broker call: the same episode
    a.renew()
    clock.now += 1.5
    a.renew(records=True)  # 9.1 s from the last cycle's start: still late
    assert _said(caplog, "renewed its leases") == ["WARNING"]
    assert _said(caplog, "in time again") == []
    for _ in range(3):
        clock.now += 5.1
        a.renew(records=True)
    assert _said(caplog, "renewed its leases") == ["WARNING"]
    assert _said(caplog, "in time again") == ["WARNING"]
    clock.now += 8.5  # a second episode is said again
    a.renew(records=True)
    assert _said(caplog, "renewed its leases") == ["WARNING", "WARNING"]


def test_a_lease_under_two_cycles_is_said_at_start_up_naming_both_keys(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """``lease_seconds = 6`` with 5 s cycles was raised to two cycles without a word."""
    a = Replicas(stores[0], cycle_seconds=5.0, lease_seconds=6.0)
    assert a.ttl_ms == 10_000
    lines = [r for r in caplog.records if "lease_seconds" in r.message]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert "monitor_seconds (5)" in lines[0].message
    assert "lease_seconds (6)" in lines[0].message


def test_a_renewal_after_failed_ones_blames_them_not_the_cycles(
    stores: list[RedisStore], redis_server: RedisServer, clock: SimpleNamespace,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """After an outage (Redis restarted, a password set) the first renewal that worked
    said "renewed its leases 26.1 s after the last renewal … its cycles run long"."""
    a = Replicas(stores[0], cycle_seconds=5.0, lease_seconds=10.0)
    a.renew(records=True)
    stop_redis(redis_server.process)
    for _ in range(2):
        clock.now += 5.0
        a.renew(records=True)
    back = start_redis(redis_server.directory, port=redis_server.port)
    try:
        clock.now += 16.1
        a.renew(records=True)
    finally:
        stop_redis(back.process)
    assert _said(caplog, "renewed its leases") == []
    (again,) = [r for r in caplog.records if "renews its leases again" in r.message]
    assert again.message.endswith("after 2 failed renewals (26.1 s after the last that worked)")
