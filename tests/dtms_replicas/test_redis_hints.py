"""A Redis failure says what to do when its own words name only the symptom
(dtms_plugin/store/redis_hints.py): ``rediss://`` against a Redis that speaks plain text
said only "Timeout connecting to server"; a password set while the replicas run only
"AuthenticationError: HELLO must be called …" or "NOAUTH …". Real redis-server."""

from __future__ import annotations

import pytest
from support.redis_server import RedisServer
from support.replica_kit import live_replica

from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore


def test_rediss_against_a_plain_text_redis_names_tls(redis_server: RedisServer) -> None:
    url = redis_server.url().replace("redis://", "rediss://", 1)
    with pytest.raises(StoreError) as refused:
        RedisStore(url, timeout=0.5)
    said = str(refused.value)
    assert said.startswith(f"cannot open store {url}: ")
    assert "the URL asks for TLS, rediss://: a Redis that speaks plain text" in said
    assert "\n" not in said


def test_a_password_set_while_a_replica_runs_is_named_plainly(
    stores: list[RedisStore],
) -> None:
    a = live_replica(stores[0])
    hand = stores[1].client
    hand.config_set("requirepass", "s3cret")
    hand.client_kill_filter(_type="normal", skipme=True)  # the connections drop meanwhile
    try:
        a.renew()
        said = a.renewal_failing()
        assert "Redis now wants a password, or another one: put it in the store URL" in said
        assert "s3cret" not in said
    finally:
        hand.config_set("requirepass", "")
