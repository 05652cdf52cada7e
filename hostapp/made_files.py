"""The paper account files a start made, removed again when that start is refused.

A host opens the paper account file (and its lock, :mod:`hostapp.claims`) before the
plugins check their settings; a start a plugin then refuses (a DTMS ``state_dir`` that is
a file, a server exposed without a token) must leave no account behind, or the next start
would take that file's balance and deposit for the user's. Only what did not exist before
the start is removed: an account that was there is never touched. The account's lock
file (:func:`hostapp.claims.lock_beside`) stays: unlinking a lock file while a process
holds it, or is about to take it, would let a second process lock a new file of the same
name, and a lock file left behind stops no later start.

The folders the account's path names that did not exist before the start (the default
``.hostapp/``, made to hold the account) are removed too, deepest first, each only when
it is empty: a refused start in a fresh folder leaves no empty ``.hostapp/`` behind, and a
folder that holds anything (the lock above, another plugin's state) or that was there
before is never touched.
"""

from __future__ import annotations

import gc
from contextlib import suppress
from pathlib import Path

#: SQLite's files beside a database, written while it is open
_SIDECARS = ("-wal", "-shm", "-journal")


class MadeFiles:
    """Which of an account file and the files beside it are missing now (before the
    start opens it), to :meth:`remove` those alone."""

    def __init__(self, account: object) -> None:
        self._missing: list[Path] = []
        #: the account's folders missing now, deepest first
        self._folders: list[Path] = []
        if not isinstance(account, str) or not account.strip():
            return
        if Path(account).exists():
            return  # an existing account: nothing of it is this start's to remove
        names = [Path(account), *(Path(f"{account}{s}") for s in _SIDECARS)]
        self._missing = [p for p in names if not p.exists()]
        self._folders = _missing_folders(Path(account).absolute().parent)

    def remove(self) -> None:
        """Remove the files this start made, if it made the account."""
        if not self._missing:
            return
        gc.collect()  # close a half-built broker's connection before its files go
        for path in self._missing:
            with suppress(FileNotFoundError, IsADirectoryError):
                path.unlink()
        for folder in self._folders:
            with suppress(OSError):  # not empty (or gone): it stays as it is
                folder.rmdir()


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist, deepest first: the ones a start that
    makes the account file would create."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing
