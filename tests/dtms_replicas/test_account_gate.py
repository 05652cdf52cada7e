"""The start-up check of a Redis store's account and replica settings
(:mod:`dtms_plugin.redis_account`) on the test's redis-server: what a replica or a remote
host refuses, and what a takeover of an abandoned account's store keeps and clears."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from support.dtms_kit import T0, trade
from support.replica_kit import A, B, LeaseEngine, account, arrive, expired

from dtms_plugin.engine import register
from dtms_plugin.redis_account import admit_host
from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.server.replica_admission import admit_replica
from dtms_plugin.server.replica_service import lease_step
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.server.store_health import store_problems
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore


def test_a_replica_of_another_account_is_refused_while_one_of_the_first_is_live(
    stores: list[RedisStore],
) -> None:
    arrive(stores[0], A, "a1")  # its heartbeat is written with the check: live at once
    with pytest.raises(StoreError) as refused:
        arrive(stores[1], B, "b1")
    said = str(refused.value)
    assert said.startswith(
        f"store {stores[1].location} defends the trades of account paper 111 (login 111),"
        " and its replica a1 is live (1 live); replica b1's account is paper 222 (login 222)"
    )
    assert "\n" not in said and "…/1" in said and "`dtms export`" in said
    assert stores[0].get_value("account") == {"identity": "paper 111", "login": 111}
    assert stores[0].client.exists("dtms:replica:b1") == 0


def test_the_same_login_under_another_name_is_the_same_account(
    stores: list[RedisStore],
) -> None:
    arrive(stores[0], A, "a1")
    stores[0].put_record(7, {"ticket": 7, "state": "HEALTHY"})
    arrive(stores[1], account("renamed 111", 111), "a2")
    assert stores[0].get_value("account") == {"identity": "renamed 111", "login": 111}
    assert set(stores[0].records()) == {7}


def test_an_abandoned_accounts_store_is_taken_over_its_records_archived(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    old = stores[0]
    arrive(old, A, "a1")
    expired(old, "a1")  # A's last replica is gone
    old.put_record(4, {"ticket": 4, "state": "HEALTHY"})
    old.put_record(5, {"ticket": 5, "state": "CLOSED"})
    old.put_state(4, "HEALTHY", datetime(2026, 1, 1, tzinfo=UTC))
    old.client.set("dtms:lease:4", "a1")
    old.client.hset("dtms:closes", "4", "{}")  # a close left for A's trade
    old.client.zadd("dtms:closed", {"5": 1.0})  # A's rails' closes
    old.outbox_put(9, {"kind": "register", "ticket": 9})
    old.put_value("remote:open", [4])
    queued = Replicas(old, cycle_seconds=0.1, lease_seconds=1.0)
    queued.publish({"ticket": 4})  # A's registration not yet applied
    caplog.set_level(logging.WARNING)
    arrive(stores[1], B, "b1")
    store = stores[2]
    assert store.records() == {}
    assert [r["ticket"] for _, r in sorted(store.archives())] == [4, 5]
    assert store.get_state(4) is None and store.client.exists("dtms:lease:4") == 0
    assert store.client.exists("dtms:closes", "dtms:closed") == 0
    assert store.outbox_items() == [] and store.get_value("remote:open") is None
    assert store.client.xlen("dtms:registrations") == 0
    b = Replicas(store, cycle_seconds=0.1, lease_seconds=1.0)
    assert b.read(10) == []  # the group is there, and holds none of A's entries
    assert store.get_value("account") == {"identity": "paper 222", "login": 222}
    (said,) = [r for r in caplog.records if "held the trades of account" in r.message]
    assert said.levelname == "WARNING"
    assert "paper 111 (login 111), not of this account paper 222 (login 222)" in said.message
    assert "its 2 records (open: 4)" in said.message
    assert "1 registrations not yet applied and 1 remote hosts' outbox entries" in said.message


def test_other_settings_are_refused_while_a_replica_is_live_and_in_force_once_none_is(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    base = DtmsSettings()
    other = replace(base, lease_seconds=60.0, trail=replace(base.trail, atr_multiple=0.5))
    arrive(stores[0], A, "a1", base)
    arrive(stores[0], A, "a2", base)  # the same settings join
    with pytest.raises(StoreError) as refused:
        arrive(stores[1], A, "a3", other)
    said = str(refused.value)
    assert said.startswith(
        "replica a3's [plugin.dtms] settings differ from those the 2 live replicas of store"
    )
    assert "lease_seconds 10.0 → 60.0; trail.atr_multiple 2.75 → 0.5;" in said
    expired(stores[0], "a1", "a2")
    caplog.set_level(logging.WARNING)
    arrive(stores[1], A, "a3", other)
    (warned,) = [r for r in caplog.records if "settings than the replicas" in r.message]
    assert "none of them is live: this replica's are in force" in warned.message
    assert "lease_seconds 10.0 → 60.0" in warned.message
    assert stores[2].get_value("replica_settings")["lease_seconds"] == 60.0


def test_a_remote_host_of_another_account_is_refused_live_replica_or_not(
    stores: list[RedisStore],
) -> None:
    arrive(stores[0], A, "a1")
    host = SimpleNamespace(broker=SimpleNamespace(account=lambda: B))
    with pytest.raises(StoreError, match="this host's account is paper 222"):
        admit_host(stores[1], host)  # type: ignore[arg-type]
    admit_host(stores[1], SimpleNamespace(broker=SimpleNamespace(account=lambda: A)))  # type: ignore[arg-type]
    expired(stores[0], "a1")  # none live: a host still takes nothing over
    with pytest.raises(StoreError, match="a host does not take a store over"):
        admit_host(stores[1], host)  # type: ignore[arg-type]
    assert stores[0].get_value("account") == {"identity": "paper 111", "login": 111}


def test_the_remote_strategy_checks_the_account_before_anything_else(
    stores: list[RedisStore],
) -> None:
    """Before it reads the outbox or open list the other account left in the store."""
    arrive(stores[0], A, "a1")
    stores[0].put_value("remote:open", [4])
    settings = replace(DtmsSettings(), store="redis://127.0.0.1:1/0")  # any Redis URL
    remote = RemoteStrategy(settings, store=stores[1])
    host = SimpleNamespace(broker=SimpleNamespace(account=lambda: B))
    with pytest.raises(StoreError, match="defends the trades of account paper 111"):
        asyncio.run(remote.startup(host))  # type: ignore[arg-type]
    assert remote._open == set()


async def test_a_replica_whose_store_moved_to_another_account_meanwhile_takes_nothing(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """Paused past its lease, it counted as dead, and a replica of another account took
    the store over: on its own broker, the new account's trades are "gone"."""
    a = Replicas(stores[0], cycle_seconds=0.1, lease_seconds=1.0)
    admit_replica(a, SimpleNamespace(broker=SimpleNamespace(account=lambda: A)), DtmsSettings())  # type: ignore[arg-type]
    expired(stores[0], a.id)  # paused: its heartbeat expired
    arrive(stores[1], B, "b1")
    stores[1].put_record(9, register(trade(9), None, T0).to_json())  # B's, not yet owned
    engine = LeaseEngine()
    await lease_step(a, engine, None, T0)
    await lease_step(a, engine, None, T0)
    assert a.held == set() and engine.book.records == {}
    assert stores[1].client.get("dtms:lease:9") is None
    said = [r for r in caplog.records if "defends account paper 222 (login 222) now" in r.message]
    assert [r.levelname for r in said] == ["ERROR"]
    assert "claims no trade and applies no registration" in said[0].message
    assert "taken over while this replica was paused" in said[0].message
    # its /health is 503 while it lasts, not 200 (a load balancer kept sending it requests)
    (problem,) = store_problems(stores[0], a)
    assert "defends account paper 222 (login 222) now, not this replica's" in problem
    stores[1].put_value("account", {"identity": "paper 111", "login": 111})  # A's again
    await lease_step(a, engine, None, T0)
    assert store_problems(stores[0], a) == []


def test_a_setting_only_one_side_names_refuses_nothing(stores: list[RedisStore]) -> None:
    """A release that added a setting: its replicas join the older ones one at a time."""
    arrive(stores[0], A, "a1")
    kept = stores[0].get_value("replica_settings")
    stores[0].put_value("replica_settings", {**kept, "dropped.setting": 1})
    arrive(stores[1], A, "a2")  # joins: the common settings are the same
