"""``--out FILE`` written whole or not at all (``dtms export``, docs/dtms.md §8).

Why: an export file is often the only copy of trades retention has since removed. Opening
it with ``"w"`` empties it before a single line is known, so a range with nothing in it, a
store that cannot be read or a full disk left an empty or truncated archive where a good
one was. Here the lines go to a temporary file beside FILE (same folder, so the same file
system), which is flushed to disk and renamed over FILE only once every line is written;
on any failure it is removed and FILE is as it was.

An existing FILE is refused unless the caller says it may be replaced (``--force``): a
later export of another range to the same name would otherwise silently replace an
archive. A new file is private to this user (0600), as the store's folder is (0700); a
replaced one keeps its mode.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")


class FileExists(Exception):
    """FILE exists and was not to be replaced."""


def write_whole(path: str | os.PathLike[str], replace: bool, write: Callable[[IO[str]], T]) -> T:
    """Run ``write`` on a temporary file beside ``path`` and put it in place only when it
    returned; its result. :class:`FileExists` when ``path`` exists (found before any work,
    or appearing meanwhile) and ``replace`` is false; OSError when writing fails, with
    ``path`` untouched either way."""
    target = Path(path)
    if not replace and os.path.lexists(target):
        raise FileExists(str(target))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            with suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            os.replace(tmp, target)
        else:
            _place_new(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return result


def _place_new(tmp: str, target: Path) -> None:
    """``tmp`` renamed to ``target`` only if nothing is there: a hard link fails on an
    existing name where a rename would replace it (a file system without hard links gets
    the rename after one more look)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExists(str(target)) from None
    except OSError:
        if os.path.lexists(target):
            raise FileExists(str(target)) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)
