"""``hookspecs.parse_settings`` reads what TOML holds, dates and times included, and says
where a value is wrong as the file spells it: the list element by index, the value as
TOML writes it, and a settings class the parser cannot read by its class and field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib

import pytest

from hookspecs import ConfigError, parse_settings, settings_in_force


@dataclasses.dataclass(frozen=True)
class Window:
    start: dt.time = dt.time(9)
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Blackout:
    daily: list[Window] = dataclasses.field(default_factory=list)
    day: dt.date | None = None
    until: dt.datetime | None = None


def parse(text: str) -> Blackout:
    return parse_settings(Blackout, tomllib.loads(text), "plugins.toml [plugin.nb]")


def test_toml_dates_and_times_are_read() -> None:
    got = parse("daily = [{start = 13:00:00}]\nday = 2024-05-01\nuntil = 2024-05-01T13:00:00Z\n")
    assert got.daily == [Window(dt.time(13))]
    assert got.day == dt.date(2024, 5, 1)
    assert got.until == dt.datetime(2024, 5, 1, 13, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            'daily = [{start = 13:00:00}, {start = "13:00"}]',
            "key 'daily'[1]: key 'start': expected a time, got '13:00'",
        ),
        (
            "daily = [{label = 13:00:00}]",
            "key 'daily'[0]: key 'label': expected a string, got 13:00:00",
        ),
        (
            "day = 2024-05-01T13:00:00",
            "key 'day': expected datetime.date | None, got 2024-05-01T13:00:00",
        ),
        ("daily = [[true, 1]]", "key 'daily'[0]: expected a table, got [true, 1]"),
    ],
)
def test_a_wrong_value_is_named_by_its_element_and_shown_as_toml_writes_it(
    text: str, said: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(text)
    assert str(raised.value) == f"plugins.toml [plugin.nb]: {said}"


class Odd:
    pass


@dataclasses.dataclass(frozen=True)
class Unreadable:
    odd: Odd | None = None


def test_a_field_type_the_parser_cannot_read_is_said_even_when_its_key_is_absent() -> None:
    with pytest.raises(TypeError, match="settings class Unreadable, field 'odd': unsupported"):
        parse_settings(Unreadable, {}, "[plugin.odd]")


@dataclasses.dataclass(frozen=True)
class Nested:
    url: str = "redis://u:secret@h/0"
    blackout: Blackout = dataclasses.field(default_factory=Blackout)
    tags: frozenset[str] = frozenset({"b", "a"})


def test_settings_in_force_are_plain_data_by_dotted_key() -> None:
    """What a plugin's run report says under ``settings``: every value, defaults
    included, by the key a user writes in ``--sweep``, as JSON holds it."""
    built = parse_settings(
        Nested,
        tomllib.loads(
            '[blackout]\nday = 2024-05-01\ndaily = [{start = 13:30:00, label = "fomc"}]\n'
        ),
        "t",
    )
    said = settings_in_force(built, omit=frozenset({"url"}))
    assert said == {
        "blackout.daily": [{"start": "13:30:00", "label": "fomc"}],
        "blackout.day": "2024-05-01",
        "blackout.until": None,
        "tags": ["a", "b"],
    }
    assert json.loads(json.dumps(said)) == said
    assert settings_in_force(Nested(), omit=frozenset({"blackout.until"}))["url"] == (
        "redis://u:secret@h/0"
    ) and "blackout.until" not in settings_in_force(Nested(), frozenset({"blackout.until"}))
