"""``hookspecs.masked_url``: the one way a URL with a credential is named in a message."""

import pytest

from hookspecs import masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user:SECRET@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
        ("redis://:SECRET@127.0.0.1:99999/0", "redis://***@127.0.0.1:99999/0"),
        ("redis://127.0.0.1:6379/0?password=SECRET", "redis://127.0.0.1:6379/0?password=***"),
        ("redis://h/0?username=SECRET&db=2", "redis://h/0?username=***&db=2"),
        ("redis://h/0?db=2&PassWord=SECRET", "redis://h/0?db=2&PassWord=***"),
        ("redis://h/0?pass%77ord=SECRET", "redis://h/0?pass%77ord=***"),
        ("unix:///run/redis.sock?password=SECRET", "unix:///run/redis.sock?password=***"),
        ("https://h/x?api_key=SECRET&token=SECRET", "https://h/x?api_key=***&token=***"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("127.0.0.1:6379?password=SECRET", "127.0.0.1:6379?password=***"),
        ("user:SECRET@127.0.0.1:6379/0", "***@127.0.0.1:6379/0"),
        ("http://[::1/x?password=SECRET", "http://***"),
    ],
)
def test_credentials_are_masked_and_the_server_still_named(url: str, shown: str) -> None:
    assert masked_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://discord.com/api/webhooks/1/SECRET", "https://discord.com/***"),
        ("https://hooks.slack.com/services/T/B/SECRET?x=1", "https://hooks.slack.com/***"),
        ("discord.com/api/webhooks/1/SECRET", "discord.com/***"),
        ("https://u:SECRET@h:8443/", "https://***@h:8443/"),
        ("https://h", "https://h"),
    ],
)
def test_without_the_path_a_webhook_shows_its_host_only(url: str, shown: str) -> None:
    assert masked_url(url, keep_path=False) == shown
