"""The store's diskcache ``Disk``: JSON text in SQLite, and nothing else, ever.

Why: diskcache's default ``Disk`` unpickles what it finds, and it reads, follows and
removes the files that rows name (``mode`` 2 and 3 rows, and the ``filename`` column of
any row it overwrites, deletes or culls). Anyone who can write a row into the cache
directory could then run code in our process, read a file through us, or make us delete
one anywhere on the disk (an absolute ``filename`` is joined to nothing). This ``Disk``
overrides every method that decodes a row or touches a file: values are JSON text kept
inline, a row of any other shape is refused without being decoded, and no file is ever
created, read, opened or removed because a row names it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import diskcache
import orjson
from diskcache.core import MODE_RAW

_LOG = logging.getLogger("dtms_plugin.store")


class UnsafeRowError(ValueError):
    """A row that is not JSON text (a pickle, a file, bytes): refused, never decoded."""


class JsonDisk(diskcache.Disk):
    """A diskcache ``Disk`` that reads and writes JSON text only.

    Keys must be ``str`` (stored raw). Values are JSON-encoded and always kept inline in
    SQLite (never in side files). Any row with another mode, a file name, or a pickled
    key raises :class:`UnsafeRowError` without being decoded.
    """

    def __init__(self, directory: str, **ignored: Any) -> None:
        # diskcache hands every ``disk_*`` row of the Settings table over as a keyword,
        # so a planted row could otherwise set any attribute here: none is used.
        super().__init__(directory)

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"store keys must be str, got {type(key).__name__}")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        if not raw or type(key) is not str:
            raise UnsafeRowError(f"refusing a non-text key in {self._directory}")
        return key

    def store(self, value: Any, read: bool, key: Any = None) -> tuple[int, int, None, str]:
        if read:
            raise TypeError("JsonDisk does not store file objects")
        return 0, MODE_RAW, None, encode(value)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode != MODE_RAW or filename is not None or type(value) is not str:
            raise UnsafeRowError(
                f"refusing a row of mode {mode} ({type(value).__name__}"
                f"{', naming a file' if filename is not None else ''}) in {self._directory}:"
                " only JSON text is accepted"
            )
        return orjson.loads(value)

    def filename(self, key: Any = None, value: Any = None) -> tuple[str, str]:
        raise UnsafeRowError("the DTMS store keeps no value in a file")

    def remove(self, file_path: str) -> None:
        """Called by diskcache with the ``filename`` of a row it overwrote, deleted or
        culled. This store never writes files, so such a name was planted: report it and
        leave the file alone (it may be anywhere, even outside the directory)."""
        _LOG.error(
            "store %s: a row named the file %r; left untouched (the store writes no files)",
            self._directory,
            file_path,
        )

    def _write(self, full_path: str, iterator: Any, mode: str, encoding: Any = None) -> int:
        raise UnsafeRowError("the DTMS store writes no file")


class Encoded(str):
    """A value its writer has already encoded as JSON text (a trade record serialised
    straight from its dataclass, which costs a tenth of building its dict first): the
    store writes the text as it is, and reading it back gives the decoded value."""


#: built once: ``json.dumps`` with options builds a new encoder on every call
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def encode(value: Any) -> str:
    """The one JSON form of a stored value (compact; NaN and infinities refused), or the
    text of an :class:`Encoded` value as it is."""
    if isinstance(value, Encoded):
        return str.__str__(value)
    return _ENCODER.encode(value)
