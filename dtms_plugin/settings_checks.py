"""The checks of DTMS's settings, one per kind of value: each raises a ``ValueError``
that starts with the key it is about, which :func:`~.settings.load_settings` puts after
the file and table (``plugins.toml [plugin.dtms] trail.period: must be >= 2, got 1``).
A URL is named with its secrets masked (``hookspecs.masked_url``)."""

from __future__ import annotations

import math
from dataclasses import fields
from urllib.parse import parse_qs, urlsplit

from hookspecs import masked_url


def finite(key: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{key}: must be a finite number, got {value!r}")


def at_least(key: str, value: float, minimum: float) -> None:
    finite(key, value)
    if value < minimum:
        raise ValueError(f"{key}: must be >= {minimum:g}, got {value!r}")


def positive(key: str, value: float) -> None:
    finite(key, value)
    if value <= 0:
        raise ValueError(f"{key}: must be > 0, got {value!r}")


def fraction(key: str, value: float) -> None:
    finite(key, value)
    if not 0 < value <= 1:
        raise ValueError(f"{key}: must be in (0, 1], got {value!r}")


def _url(key: str, value: str, schemes: tuple[str, ...], path_will_do: bool, want: str) -> None:
    """``value`` is a URL of one of ``schemes`` with a host (or, ``path_will_do``, a path:
    a unix socket) and a port in range; else a ``ValueError`` saying ``want``, the URL
    shown with its password masked."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in schemes and bool(parts.hostname or (path_will_do and parts.path))
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{key}: expected {want}, got {masked_url(value)!r}")


def http_url(key: str, value: str) -> None:
    _url(key, value, ("http", "https"), False, "an http:// or https:// URL with a host")


def store_url(key: str, value: str) -> None:
    if value:
        _url(key, value, ("redis", "rediss", "unix"), True, "a redis://host:port/db URL")


def store_db(key: str, value: str) -> None:
    """The database number of a store URL (``/db``, or ``?db=``) must be a number: the
    Redis client reads any other as database 0, silently, where another application's
    keys may be (docs/scaling.md). Only the number is quoted, never the URL (it may
    hold a password)."""
    if not value:
        return
    parts = urlsplit(value)
    path = parts.path.strip("/") if parts.scheme in ("redis", "rediss") else ""
    for db in [path, *parse_qs(parts.query).get("db", [])]:
        if db and not db.isdigit():
            raise ValueError(f"{key}: the database number must be an integer, got {db!r}")


def check_ladder(t: object) -> None:
    """The ladder's thresholds in their order (docs/dtms.md §5): each level deeper than
    the one before, and each way back above its way in. Otherwise a score between them
    moves the trade down and up again on every cycle, with an action each time."""
    pairs = [
        ("to_hedge", "to_l2"), ("to_l2", "to_l1"), ("to_l1", "l1_recover"),
        ("to_l2", "l2_recover"), ("to_hedge", "recover"),
    ]  # fmt: skip
    for low, high in pairs:
        below, above = getattr(t, low), getattr(t, high)
        if not below < above:
            raise ValueError(
                f"thresholds.{low}: must be below thresholds.{high} ({above:g}), got {below:g}"
            )


def check_group(group: str, values: object, minimum: float | None = None) -> None:
    """Every number of a nested group: finite; ``minimum`` when given; ints are periods
    (>= 1) except ``max_retries`` (>= 0); ``*_fraction`` in (0, 1]."""
    for f in fields(values):  # type: ignore[arg-type]
        key, value = f"{group}.{f.name}", getattr(values, f.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, dict):
            for label, number in value.items():
                finite(f"{key}.{label}", number)
        elif f.name == "max_retries":
            at_least(key, value, 0)
        elif isinstance(value, int):
            at_least(key, value, 1)
        elif f.name.endswith("_fraction"):
            fraction(key, value)
        elif minimum is not None:
            at_least(key, value, minimum)
        else:
            finite(key, value)
