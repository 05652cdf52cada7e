"""Typed plugin settings: turn a ``[plugin.NAME]`` table into a dataclass, or say exactly
which key is wrong.

A plugin calls :func:`parse_settings` from its ``configure`` hook. Errors are
:class:`ConfigError` with a message that names the file, the table and the key, which the
host prints as one line before exiting with code 2.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from .timeframes import Timeframe

T = TypeVar("T")

#: Keys every ``[plugin.NAME]`` table may hold; the host reads them, plugins ignore them.
HOST_KEYS = frozenset({"timeout_seconds"})


class ConfigError(ValueError):
    """A configuration value is wrong. The message names file, table and key."""


def require_buildable(timeframe: str, base: str, where: str) -> None:
    """A :class:`ConfigError` naming the setting ``where`` (table and key) unless bars of
    ``timeframe`` can be built from the market's ``base`` bars
    (:meth:`Timeframe.can_build_from`; ``MarketView.base_timeframe``).

    Why a plugin calls it from ``configure``: asked for bars the market cannot build, the
    market raises on every cycle, the host's breaker switches the plugin off after five,
    and the run goes on, exit code 0, without the stops the plugin was there to move."""
    if not Timeframe.parse(timeframe, where).can_build_from(base):
        raise ConfigError(
            f"{where}: {timeframe} bars cannot be built from the market's {base} bars; "
            f"name {base} or a multiple of it"
        )


def parse_settings(cls: type[T], table: Mapping[str, Any], where: str) -> T:
    """Build dataclass ``cls`` from ``table``, rejecting unknown keys and wrong types.

    ``where`` names the table for messages, e.g. ``"plugins.toml [plugin.dtms]"``.
    Ints are accepted where floats are expected; nothing else is coerced.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    for key in table:
        if key not in fields and key not in HOST_KEYS:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{where}: unknown key {key!r} (known keys: {known})")
    values: dict[str, Any] = {}
    for name in fields:
        if name in table:
            values[name] = _check_type(table[name], hints[name], f"{where}: key {name!r}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


#: The TOML dates and times a field may hold, with what the messages call them.
_TEMPORAL = {dt.datetime: "a date-time", dt.date: "a date", dt.time: "a time"}


def _hints(cls: type) -> dict[str, Any]:
    """The fields' types of settings class ``cls``, each one :func:`parse_settings` can
    read, else TypeError naming the class and the field: a mistake of the plugin's code,
    said when it configures, not only once a user sets the key."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference to a name not imported
        raise TypeError(
            f"settings class {cls.__name__}: cannot read the types of its fields: {exc}"
        ) from None
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        bad = _unsupported(hint)
        if bad is not None:
            raise TypeError(
                f"settings class {cls.__name__}, field {field.name!r}: unsupported settings "
                f"type {_name(bad)} (use bool, int, float, str, datetime.date, datetime.time, "
                "datetime.datetime, Literal, a list, a dict or a dataclass of them)"
            )
    return hints


def _unsupported(hint: Any) -> Any:
    """The part of ``hint`` that :func:`_check_type` cannot read, or None."""
    origin = typing.get_origin(hint)
    if hint is Any or origin is typing.Literal or hint is type(None) or origin is dict:
        return None
    if hint in (bool, int, float, str, dict) or hint in _TEMPORAL:
        return None
    if origin in (typing.Union, types.UnionType, list, tuple, frozenset, set):
        args = typing.get_args(hint) if origin not in (tuple,) else typing.get_args(hint)[:1]
        for arg in args:
            if arg is not Ellipsis and _unsupported(arg) is not None:
                return _unsupported(arg)
        return None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return None  # checked as its own class, when its table is read
    return hint


def _check_type(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _check_type(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_name(hint)}, got {_typed(value)}")
    if origin is typing.Literal:
        if value in args:
            return value
        choices = " | ".join(repr(a) for a in args)
        raise ConfigError(f"{where}: expected one of {choices}, got {_typed(value)}")
    if origin in (list, tuple, frozenset, set):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_typed(value)}")
        item = args[0] if args else Any
        items = [_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return origin(items) if origin is not list else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_typed(value)}")
        return value
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected nothing, got {_typed(value)}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {_typed(value)}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {_typed(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {_typed(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {_typed(value)}")
    if hint in _TEMPORAL:
        # a TOML date-time is a datetime, and a datetime is also a date: not a date here
        if isinstance(value, hint) and (hint is not dt.date or not isinstance(value, dt.datetime)):
            return value
        raise ConfigError(f"{where}: expected {_TEMPORAL[hint]}, got {_typed(value)}")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_typed(value)}")
        return parse_settings(hint, value, where)
    raise TypeError(f"unsupported settings type {_name(hint)}")


def _typed(value: Any) -> str:
    """``value`` as the message shows it, as TOML spells it: booleans ``true`` (which the
    file and ``--sweep`` hold, not Python's ``True``), dates and times as in the file
    (``13:00:00``, not ``datetime.time(13, 0)``), lists and tables of them likewise;
    strings and numbers as Python's repr (``'abc'`` is a TOML string too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_typed(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_typed(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def settings_in_force(settings: Any, omit: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The values of a settings dataclass (one :func:`parse_settings` built) as plain data,
    one entry per setting under the dotted key a user names it by in ``--sweep`` and
    ``summary.json`` (``thresholds.to_l1`` for ``[plugin.NAME.thresholds] to_l1``).

    Why: a plugin's defaults live in its code, so the host cannot show the value a run
    used for a key the config file leaves out; a plugin's ``run_report`` says them under
    ``settings`` (see the hook) and the sweep's "as configured" row shows them. ``omit``
    names keys left out, e.g. a URL that may carry a password. Dates and times are given as
    ISO text, lists, tuples and sets as lists, tables as they are."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        if field.name in omit:
            continue
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            inner = frozenset(k.partition(".")[2] for k in omit if k.startswith(f"{field.name}."))
            for key, item in settings_in_force(value, inner).items():
                out[f"{field.name}.{key}"] = item
        else:
            out[field.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it (a table in a list as a table of its dotted keys)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return settings_in_force(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
