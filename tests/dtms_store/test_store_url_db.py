"""The store URL's database number is checked with the settings: the Redis client reads
one that is not a number as database 0, silently."""

from __future__ import annotations

import pytest

from dtms_plugin.settings import DtmsSettings


@pytest.mark.parametrize(
    ("url", "db"),
    [
        ("redis://127.0.0.1:6379/abc", "abc"),
        ("rediss://:secret@10.0.0.5:6380/1x", "1x"),
        ("unix:///run/redis.sock?db=two", "two"),
    ],
)
def test_a_store_url_whose_database_is_not_a_number_is_refused(url: str, db: str) -> None:
    with pytest.raises(ValueError) as raised:
        DtmsSettings(store=url)
    assert str(raised.value) == f"store: the database number must be an integer, got {db!r}"
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379", "unix:///run/redis.sock?db=3"]
)
def test_a_store_url_with_a_database_number_or_none_is_accepted(url: str) -> None:
    assert DtmsSettings(store=url).store == url
