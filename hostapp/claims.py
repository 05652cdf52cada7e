"""One process at a time on what two must not write at once: a POSIX record lock on a
lock file, which names the process that holds it.

``hostapp run`` claims the paper account file a live host drives (two hosts driving one
account each quote it from their own clock and settle each other's positions at their
own prices: trades closed before they opened) and the report folder a command writes (a
second command there would cut the first one's log while it writes it). Readers of the
account file (``hostapp serve`` / ``dtms serve``, the report) claim nothing: only the
process that feeds its prices holds it (docs/architecture.md §5).

A record lock, not a file that says "in use": the system releases it when the process
ends, however it ends (a crash, ``kill -9``), so no stale lock ever stops a restart. DTMS
holds its store the same way (its ``engine.lock``); the host knows no plugin, so this is
its own. The lock is per process: the same process may claim again (in-process runs),
sharing the claim until the last release.
Windows has no such lock; there a claim always succeeds.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # Windows: no POSIX record locks
    fcntl = None  # type: ignore[assignment]

#: errno of a lock another process holds (Linux says EAGAIN, some systems EACCES)
_HELD = (errno.EAGAIN, errno.EACCES)


class Held(Exception):
    """Another process holds the claim; ``holder`` says which ("pid N in FOLDER")."""

    def __init__(self, lock: Path, holder: str) -> None:
        super().__init__(f"{lock}: held by {holder}")
        self.lock = lock
        self.holder = holder


#: The claims this process holds, by lock file: the descriptor and how many claims share
#: it. A record lock belongs to the process, and closing any descriptor of the file drops
#: it, so a second claim of the same file shares the first one's descriptor instead of
#: opening its own, and only the last release closes it.
_HELD_HERE: dict[Path, tuple[int, int]] = {}


class Claim:
    """A claim this process holds until :meth:`release` (or the end of a ``with``)."""

    def __init__(self, lock: Path | None) -> None:
        self._lock = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None or lock not in _HELD_HERE:
            return
        fd, count = _HELD_HERE[lock]
        if count > 1:
            _HELD_HERE[lock] = (fd, count - 1)
            return
        del _HELD_HERE[lock]
        os.close(fd)  # the lock goes with the descriptor

    def __enter__(self) -> Claim:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def lock_beside(path: str | Path) -> Path:
    """``<path>.lock`` beside what ``path`` names, links followed: one lock for the file
    however it is named (a relative path, an absolute one, a symbolic link to it)."""
    real = Path(path).resolve()
    return real.with_name(real.name + ".lock")


def claim(lock: Path) -> Claim:
    """Hold ``lock`` (made if missing) for this process, and write in it who holds it.
    :class:`Held` naming the holder when another process has it; ``OSError`` when the
    lock file cannot be made or locked at all. Claimed again by this process, it is
    shared (:data:`_HELD_HERE`)."""
    if fcntl is None:
        return Claim(None)
    lock = lock.resolve()
    if lock in _HELD_HERE:
        fd, count = _HELD_HERE[lock]
        _HELD_HERE[lock] = (fd, count + 1)
        return Claim(lock)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.read(fd, 4096).decode(errors="replace").strip()
        os.close(fd)
        if exc.errno in _HELD:
            raise Held(lock, holder or "another process") from None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} in {os.getcwd()}".encode())
    _HELD_HERE[lock] = (fd, 1)
    return Claim(lock)
