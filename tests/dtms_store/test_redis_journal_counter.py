"""The Redis journal's counter planted (no number) or gone back: the next entry was
numbered 0 and wrote over the first, another trade's history then, and ``actions()`` of
the whole journal was a ValueError (a 500 on ``/dtms/actions``; the security probe). The
counter is rebuilt from the entries at the next write; until then the whole journal is
read from the entries' numbers and the key is listed damaged."""

from __future__ import annotations

import pytest
from support.redis_server import RedisServer

from dtms_plugin.store.redis_store import RedisStore


@pytest.mark.parametrize(
    "counter",
    ["abc", "0", "1", "-3", "1e3", "\u00b2", None],
    ids=["not-a-number", "went-back", "names-an-entry", "negative", "exponent", "superscript",
         "gone"],
)  # fmt: skip
def test_a_damaged_journal_counter_never_writes_over_the_history(
    redis_server: RedisServer, counter: str | None
) -> None:
    """Python and the write script read the counter by one rule (ASCII digits naming no
    entry): "1e3" was a number to the script (the next entry went to 1000) and damaged to
    Python, "²" digits to Python and a ValueError then (the review)."""
    store = RedisStore(redis_server.url(2))
    store.client.flushdb()
    try:
        store.append_actions([{"ticket": 5018, "type": "close"}, {"ticket": 5018, "type": "x"}])
        if counter is None:
            store.client.delete("dtms:journal:seq")
        else:
            store.client.set("dtms:journal:seq", counter)
        assert [e["type"] for e in store.actions()] == ["close", "x"]  # from the entries
        assert "dtms:journal:seq" in store.damaged
        store.append_actions([{"ticket": 9006, "type": "unregistered"}])
        assert [e["type"] for e in store.actions(5018)] == ["close", "x"]
        assert [e["type"] for e in store.actions(9006)] == ["unregistered"]
        assert [e["ticket"] for e in store.actions()] == [5018, 5018, 9006]
        assert "dtms:journal:seq" not in store.damaged
    finally:
        store.close()


def test_an_index_naming_another_trade_s_entry_shows_none_of_it(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url(2))
    store.client.flushdb()
    try:
        store.append_actions([{"ticket": 1, "type": "a"}, {"ticket": 2, "type": "b"}])
        store.client.rpush("dtms:journal:ticket:1", 1)  # entry 1 is ticket 2's
        assert [e["type"] for e in store.actions(1)] == ["a"]
    finally:
        store.close()
