"""A key of a plugin's table that the plugin never asked for while it configured (a
typo: ``limt = 1`` for ``limit``) is said in one WARNING naming the file, table and key,
and listed among the plugin's warnings; before, a plugin reading its keys by name
(``config_for(NAME).get("limit", 99)``) ran on its default without a word, though
plugins.toml promises that a typo is named."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hookspecs import HostView, hookimpl, parse_settings
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.testing import bars_from_closes


class ByName:
    def __init__(self) -> None:
        self.limit: Any = None

    @hookimpl
    def configure(self, host: HostView) -> None:
        self.limit = host.config_for("byname").get("limit", 99)


class Checked:
    from dataclasses import dataclass

    @dataclass
    class Settings:
        limit: int = 99

    @hookimpl
    def configure(self, host: HostView) -> None:
        parse_settings(self.Settings, host.config_for("checked"), "[plugin.checked]")


def _build(tables: dict[str, Any], plugins: dict[str, object]) -> Any:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}, "plugin": tables})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(30)])}
    return build_sim_app(
        config, series, base_timeframe="M5", entry_points=[], env={}, builtins=plugins
    )


def test_a_key_the_plugin_never_asked_for_is_named(caplog: pytest.LogCaptureFixture) -> None:
    plugin = ByName()
    with caplog.at_level(logging.WARNING):
        app = _build({"byname": {"limt": 1, "limit": 5, "timeout_seconds": 3}}, {"byname": plugin})
    assert plugin.limit == 5
    said = [r.getMessage() for r in caplog.records if "read by no one" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].endswith(
        "[plugin.byname]: key(s) limt read by no one: the plugin did not ask for them while "
        "it configured (a typo?)"
    )  # timeout_seconds is the host's: never named
    (row,) = [r for r in app.plugins.listing() if r.name == "byname"]
    assert any("limt" in w for w in row.warnings)


def test_a_plugin_that_checks_its_table_or_reads_every_key_is_not_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        _build(
            {"checked": {"limit": 3}, "byname": {"limit": 3}},
            {"checked": Checked(), "byname": ByName()},
        )
    assert not [r for r in caplog.records if "read by no one" in r.getMessage()]


def test_the_table_is_still_a_plain_dict_to_the_plugin() -> None:
    seen: list[Any] = []

    class Copier:
        @hookimpl
        def configure(self, host: HostView) -> None:
            table = host.config_for("copier")
            seen.append((isinstance(table, dict), dict(table), table.copy(), {**table}))

    _build({"copier": {"a": 1}}, {"copier": Copier()})
    assert seen == [(True, {"a": 1}, {"a": 1}, {"a": 1})]


def test_the_table_pickles_as_a_plain_dict_and_every_whole_read_counts() -> None:
    """A plugin sending its settings to a worker process pickles a plain dict (no hostapp
    needed to read it), and comparing, reversing or pickling the table reads every key."""
    import pickle

    from hostapp.table_reads import ReadTable

    for read_all in (
        lambda t: pickle.loads(pickle.dumps(t)),
        lambda t: t == {"a": 1, "b": 2},
        lambda t: list(reversed(t)),
    ):
        read: set[str] = set()
        table = ReadTable({"a": 1, "b": 2}, read)
        assert read_all(table) in ({"a": 1, "b": 2}, True, ["b", "a"])
        assert read == {"a", "b"}
    assert type(pickle.loads(pickle.dumps(ReadTable({"a": 1}, set())))) is dict
