"""The checks of DTMS's settings, one per kind of value (the ranges of the groups' numbers
are in settings_ranges.py): each raises a ``ValueError`` that starts with the key it is
about, which :func:`~.settings.load_settings` puts after the file and table
(``plugins.toml [plugin.dtms] trail.period: must be >= 2, got 1``).
A URL is named with its secrets masked (``hookspecs.masked_url``)."""

from __future__ import annotations

import math
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


def web_origin(key: str, value: str) -> None:
    """A web page's origin as a browser sends it: ``http(s)://host[:port]``, nothing
    after (``*`` is refused: every site is what the setting exists not to allow)."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        # what a browser sends: nothing after the port, no default port, no spaces
        ok = ok and value.rstrip("/") == f"{parts.scheme}://{parts.netloc}"
        ok = ok and not (parts.username or parts.password or " " in value)
        ok = ok and (parts.scheme, parts.port) not in (("http", 80), ("https", 443))
    except ValueError:  # a port out of range
        ok = False
    if not ok:
        raise ValueError(
            f"{key}: expected a web page's origin as a browser sends it, such as"
            f" http://localhost:8000 (scheme, host and a port other than the default),"
            f" got {value!r}"
        )


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
