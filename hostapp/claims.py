"""One process at a time on what two must not write at once: a lock on a lock file
(:mod:`hookspecs.locks`: POSIX's record lock, Windows' ``msvcrt.locking``), which names
the process that holds it.

``hostapp run`` claims the paper account file a live host drives (two hosts driving one
account each quote it from their own clock and settle each other's positions at their
own prices: trades closed before they opened) and the report folder a command writes (a
second command there would cut the first one's log while it writes it). Readers of the
account file (``hostapp serve`` / ``dtms serve``, the report) claim nothing: only the
process that feeds its prices holds it (docs/architecture.md §5).

A lock, not a file that says "in use": the system releases it when the process ends,
however it ends (a crash, ``kill -9``, Task Manager), so no stale lock ever stops a
restart. DTMS holds its store the same way (its ``engine.lock``, with the same
:mod:`hookspecs.locks`); the host knows no plugin, so this claim is its own. The claim is
per process: the same process may claim again (in-process runs), sharing the claim (and
its one descriptor: a Windows lock is the descriptor's) until the last release.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from hookspecs import locks


class Held(Exception):
    """Another process holds the claim; ``holder`` says which ("pid N in FOLDER")."""

    def __init__(self, lock: Path, holder: str) -> None:
        super().__init__(f"{lock}: held by {holder}")
        self.lock = lock
        self.holder = holder


class Claim:
    """A claim this process holds until :meth:`release` (or the end of a ``with``)."""

    def __init__(self, lock: Path | None) -> None:
        self._lock = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            locks.release(lock)

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
    shared (:func:`hookspecs.locks.hold`)."""
    lock = lock.resolve()
    other = locks.hold(lock, f"pid {os.getpid()} in {os.getcwd()}")
    if other is not None:
        raise Held(lock, other or "another process")
    return Claim(lock)
