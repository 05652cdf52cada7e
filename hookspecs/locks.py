"""One process at a time on a lock file: a lock the system drops with the process however
it ends, and the holder's own words in the file for the one refused.

Why in the contract: the host holds the paper account file and its report folder
(``hostapp.claims``), DTMS its store (``engine.lock``), and neither package may import the
other; on Windows the lock is easy to get subtly wrong, so there is one of it.

- POSIX: a record lock (``fcntl.lockf``) on the whole file, as before this module: a
  process of an older version still sees it.
- Windows (no ``fcntl``): ``msvcrt.locking`` of the one byte at :data:`WINDOWS_LOCK_BYTE`.
  A Windows lock is mandatory (no other descriptor can read or write the bytes it covers),
  so it covers no byte of the holder's text, which is written from byte 0 and read there
  by the process refused; locking past the end of a file is allowed. ``msvcrt.locking``
  locks from the descriptor's current position, so it is moved to that byte first. The
  lock belongs to the descriptor (another descriptor of the same process is refused
  too), and goes with it; :func:`unlock` releases it before closing, as Microsoft asks
  (a lock a closed handle left behind is released "when resources allow").

Elsewhere (neither module) nothing is locked: :func:`lock` always succeeds.

A lock file deleted by hand (or its folder, or moved away) while held is a lock on a file
with no name there: it stops no process, which makes the file again and takes it. So a
hold this process has is never shared once its file is no longer at its path, and
:func:`renew` takes the file there now (DTMS's store does, docs/dtms.md §8).
"""

from __future__ import annotations

import errno
import importlib
import os
import threading
from pathlib import Path
from types import ModuleType

try:
    import fcntl
except ImportError:  # Windows: no POSIX record locks
    fcntl = None  # type: ignore[assignment]


def _msvcrt() -> ModuleType | None:
    """``msvcrt`` where there is no ``fcntl`` (Windows), else None. Imported by name:
    mypy on Linux knows none of its functions."""
    if fcntl is not None:
        return None
    try:
        return importlib.import_module("msvcrt")
    except ImportError:
        return None


msvcrt = _msvcrt()

#: errno of a lock another holds (Linux says EAGAIN, other systems and Windows EACCES)
HELD = (errno.EAGAIN, errno.EACCES)
#: Windows: the byte locked, 1 MiB in, far past any holder's text ("pid N in FOLDER": a
#: Windows path is at most 32,767 characters) and below ``msvcrt``'s 2 GiB positions.
WINDOWS_LOCK_BYTE = 1 << 20
#: What :func:`open_lock` adds on Windows: bytes as written (no text mode's newlines nor
#: its end of file at a Ctrl-Z).
_BINARY = getattr(os, "O_BINARY", 0)


def open_lock(path: str | os.PathLike[str], mode: int = 0o644) -> int:
    """A read-write descriptor of the lock file ``path``, made (with ``mode``) if missing."""
    return os.open(path, os.O_RDWR | os.O_CREAT | _BINARY, mode)


def lock(fd: int) -> bool:
    """Take the lock of ``fd``'s file without waiting: True if taken, False if another
    holds it; ``OSError`` when it cannot be locked at all."""
    try:
        if fcntl is not None:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            os.lseek(fd, WINDOWS_LOCK_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in HELD:
            return False
        raise
    return True


def write_holder(fd: int, holder: str) -> None:
    """Say in the lock file who holds it (what there was before is cut)."""
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, holder.encode())


def read_holder(fd: int, size: int) -> str:
    """The first ``size`` bytes of what the holder wrote, stripped ("" when nothing)."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, min(size, WINDOWS_LOCK_BYTE)).decode(errors="replace").strip()


def unlock(fd: int) -> None:
    """Release the lock ``fd`` holds and close it. On POSIX closing is what releases it
    (and closing any other descriptor of the file in this process would too)."""
    try:
        if fcntl is None and msvcrt is not None:
            os.lseek(fd, WINDOWS_LOCK_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass  # closing releases it all the same
    finally:
        os.close(fd)


#: The locks this process holds through :func:`hold`, by lock file (resolved): the
#: descriptor and how many holders share it. A POSIX record lock belongs to the process,
#: and closing any descriptor of the file drops it; a Windows lock belongs to its
#: descriptor, and refuses another one of the same process. So a second holder in this
#: process shares the first one's descriptor, and only the last :func:`release` closes it
#: (two stores of one directory in one process: closing the second dropped the first's
#: POSIX lock, and another process could then take it).
_HELD_HERE: dict[Path, tuple[int, int]] = {}
_HELD_GUARD = threading.Lock()


def hold(path: Path, holder: str, *, mode: int = 0o644, read: int = 4096) -> str | None:
    """Hold the lock file ``path`` (made with ``mode`` if missing) for this process, or
    share the hold this process has; ``holder`` is written in it for a process refused.
    ``None`` when held; else the text the holder wrote (its first ``read`` bytes, ""
    when none). ``OSError`` when the file cannot be made or locked at all. Every ``None``
    answer is paired with one :func:`release` of the same path. A hold whose file is no
    longer at ``path`` (deleted, its folder moved away) is not shared: the file there
    now is taken, as :func:`renew` does."""
    path = path.resolve()
    with _HELD_GUARD:
        held = _HELD_HERE.get(path)
        if held is not None and _still_there(held[0], path):
            _HELD_HERE[path] = (held[0], held[1] + 1)
            return None
        return _take(path, holder, mode, read, held, 1)


def renew(path: Path, holder: str, *, mode: int = 0o644, read: int = 4096) -> str | None:
    """This process's hold of ``path`` again, on the file that is there now, when the one
    it holds is not (deleted, or its folder moved away, by hand): a lock on a file with
    no name there stops no other process, which would make the file at ``path`` and take
    it. Every holder of the old hold shares the new one (no :func:`release` more), and
    the old descriptor is closed. ``None`` when held (at once when the file is still the
    one held); else the text the holder of the file there now wrote, the old hold kept.
    ``OSError`` when the file cannot be made or locked at all."""
    path = path.resolve()
    with _HELD_GUARD:
        held = _HELD_HERE.get(path)
        if held is not None and _still_there(held[0], path):
            return None
        return _take(path, holder, mode, read, held, 0)


def _take(
    path: Path, holder: str, mode: int, read: int, held: tuple[int, int] | None, more: int
) -> str | None:
    """Lock the file at ``path`` for this process (under ``_HELD_GUARD``), in place of
    ``held``, whose file is gone, with ``more`` holders added (at least one)."""
    fd = open_lock(path, mode)
    try:
        taken = lock(fd)
    except OSError:
        os.close(fd)
        raise
    if not taken:
        other = read_holder(fd, read)
        os.close(fd)
        return other
    write_holder(fd, holder)
    if held is not None:
        unlock(held[0])  # a lock on a file with no name at ``path``: it stopped nobody
    _HELD_HERE[path] = (fd, max(1, (held[1] if held is not None else 0) + more))
    return None


def _still_there(fd: int, path: Path) -> bool:
    """Whether the file ``fd`` has open is the one at ``path`` (its device and inode: a
    file open here keeps its inode, so no other file can have it)."""
    try:
        here, mine = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def release(path: Path) -> None:
    """One holder of :func:`hold` lets go; the last one releases the lock and closes it."""
    path = path.resolve()
    with _HELD_GUARD:
        if path not in _HELD_HERE:
            return
        fd, count = _HELD_HERE[path]
        if count > 1:
            _HELD_HERE[path] = (fd, count - 1)
            return
        del _HELD_HERE[path]
        unlock(fd)
