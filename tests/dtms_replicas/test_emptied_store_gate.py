"""A store emptied under live replicas (FLUSHALL, Redis restarted without persistence)
still refuses a replica of another account, or with other settings, while one of its
replicas is live (docs/scaling.md, "One account, one set of settings per Redis").

Before, the account and settings keys were written at admission only: the live
replicas wrote back the marker, their records and the account mode, not those; the next
replica found no account kept, was not "another account", and was let in silently; it
then tightened stops on its own tickets from the first account's records and closed that
account's open trades as "position gone at the broker". Real redis-server, and real
``dtms serve`` processes in the last test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support.dtms_kit import T0
from support.redis_server import RedisServer
from support.replica_kit import A, B, LeaseEngine, admitted, arrive
from support.replica_procs import cluster, open_positions, register, replica_config, serve_refused

from dtms_plugin.server.replica_service import lease_step
from dtms_plugin.server.store_health import store_problems
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore

OTHER = replace(DtmsSettings(), lease_seconds=60.0)


def test_the_live_replicas_write_the_account_and_settings_back_into_an_emptied_store(
    stores: list[RedisStore],
) -> None:
    a = admitted(stores[0])
    stores[1].client.flushall()
    a.renew()  # finds the marker gone: the store was emptied
    assert stores[1].get_value("account") == {"identity": "paper 111", "login": 111}
    assert stores[1].get_value("replica_settings")["lease_seconds"] == 10.0
    with pytest.raises(StoreError, match="defends the trades of account paper 111"):
        arrive(stores[1], B, "b1")
    with pytest.raises(StoreError, match="settings differ"):
        arrive(stores[1], A, "a2", OTHER)


def test_a_newcomer_is_checked_against_the_live_heartbeats_when_the_keys_are_gone(
    stores: list[RedisStore],
) -> None:
    """Between the emptying and the live replicas' next renewal the keys are missing;
    once the heartbeats are written again they say the account and settings."""
    admitted(stores[0])
    stores[1].client.delete("dtms:value:account", "dtms:value:replica_settings")
    with pytest.raises(StoreError) as refused:
        arrive(stores[1], B, "b1")
    assert "defends the trades of account paper 111 (login 111)" in str(refused.value)
    with pytest.raises(StoreError) as refused:
        arrive(stores[1], A, "a2", OTHER)
    said = str(refused.value)
    assert "settings differ from those live replica" in said and "lost the settings" in said
    assert stores[1].client.get("dtms:value:account") is None  # nothing written by them
    arrive(stores[1], A, "a3")  # the same: joins


async def test_a_replica_whose_emptied_store_went_to_another_account_says_so_in_health(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A replica of another account started before any live one renewed after the
    emptying finds nothing to compare with: the live replicas then stop acting, and say
    why in their /health (it was 200, and said "paused or cut off past its lease")."""
    a = admitted(stores[0])
    stores[1].client.flushall()
    arrive(stores[1], B, "b1")
    await lease_step(a, LeaseEngine(), None, T0)
    (problem,) = store_problems(stores[0], a)
    assert "defends account paper 222 (login 222) now, not this replica's paper 111" in problem
    assert "the store was emptied (flushed, or Redis restarted without persistence)" in problem
    assert stores[1].get_value("account") == {"identity": "paper 222", "login": 222}


def test_a_replica_of_another_account_started_after_a_flushall_is_refused(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url()
    with cluster(url, tmp_path / "a", trades=2, replicas_n=1, lease_seconds=10.0,
                 monitor_seconds=0.5) as c:  # fmt: skip
        for ticket in c.tickets:
            assert register(c.replicas[0].server.url, ticket).status_code == 201
        (tmp_path / "b").mkdir()
        b_account = tmp_path / "b" / "account.db"
        open_positions(b_account, 2)
        c.store.client.flushall()
        code, said = serve_refused(
            replica_config(tmp_path / "b", b_account, url), tmp_path / "b.log"
        )
        assert code == 2, said[-2000:]
        (line,) = [s for s in said.splitlines() if "defends the trades of account" in s]
        assert line.startswith(f"dtms: cannot start: store {url} defends the trades of account")
        assert all(c.store.get_record(t)["state"] != "CLOSED" for t in c.tickets)
        assert c.owners() == [c.replicas[0].id] * 2


def test_a_value_of_the_wrong_type_does_not_stop_the_marker_check(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A hand-planted account mode of the wrong type failed the whole check, every
    renewal: the store found emptied was never said, nor the account written back."""
    a = admitted(stores[0])
    stores[1].client.rpush("dtms:account:mode", "planted")
    a.renew()
    stores[1].client.delete("dtms:epoch", "dtms:value:account")
    a.renew()
    assert caplog.text.count("came back empty") == 1
    assert stores[1].get_value("account") == {"identity": "paper 111", "login": 111}
