"""A directory store's database held by another writer: a real lock, a second SQLite
connection keeping a write transaction open on ``cache.db`` (as any other program that
opens it could), until the block ends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Another writer holds the database of the store in ``directory`` until the block
    ends."""
    other = sqlite3.connect(directory / "cache.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
