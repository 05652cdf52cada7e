"""Windows' ``msvcrt`` byte-range locks on Linux: :func:`locking` and its ``LK_*`` constants.

What the real one does, as documented (the Python library's ``msvcrt.locking``; Microsoft's
C runtime ``_locking``, which it calls, and ``LockFile``/``LockFileEx``, which that calls):

- ``locking(fd, mode, nbytes)`` "locks or unlocks ``nbytes`` bytes", beginning "at the
  current position of the file pointer"; "it's possible to lock bytes past end of file".
- ``LK_NBLCK`` and ``LK_NBRLCK`` (the same): "if the bytes can't be locked, the constant
  returns an error" at once: ``OSError`` with errno ``EACCES`` ("locking violation"),
  which Python raises as ``PermissionError``.
- ``LK_LOCK`` and ``LK_RLCK`` (the same): "if the bytes can't be locked, the program
  immediately tries again after 1 second"; after 10 attempts errno ``EDEADLOCK``.
- ``LK_UNLCK`` unlocks bytes, "which must have been previously locked": else ``EACCES``.
- "Exclusive locks cannot overlap an existing locked region of a file" (``LockFileEx``):
  a region overlapping a locked one is refused, whoever locked it, the same descriptor too.
- A lock is its handle's: another descriptor of the file, in this process or another, is
  refused, and closing the handle or ending the process releases it (Microsoft asks
  programs to unlock before closing: the release of a lock a handle left "depends upon
  available system resources").
- The values: ``LK_UNLCK`` 0, ``LK_LOCK`` 1, ``LK_NBLCK`` 2, ``LK_RLCK`` 3,
  ``LK_NBRLCK`` 4 (``sys/locking.h``).

Built on Linux's open file description locks (``F_OFD_SETLK``), whose owner is what a
Windows lock's is, the open file (a descriptor, not the process): they conflict with every
other open of the file, in this process or another, and go with its last close or the
process. What this does not reproduce: a Windows lock is mandatory (no other descriptor
can read or write a locked byte), these are advisory; :func:`is_locked` tells a test
whether the bytes a reader reads are locked, so that it can check that they are not. A
zero-length region (Linux's "to the end of the file and past it") is refused as invalid.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time

LK_UNLCK = 0
LK_LOCK = 1
LK_NBLCK = 2
LK_RLCK = 3
LK_NBRLCK = 4

#: ``LK_LOCK``'s attempts and the wait between them.
ATTEMPTS = 10
RETRY_SECONDS = 1.0

#: Linux's ``struct flock``: type, whence, start, length, pid (0 for an OFD lock).
_FLOCK = "hhqqi4x"


def _flock(kind: int, start: int, length: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0)


def _others_hold(fd: int, start: int, length: int) -> bool:
    """Whether an open of the file other than ``fd``'s holds any of the bytes."""
    answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK, start, length))
    return struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK


def _anyone_holds(fd: int, start: int, length: int) -> bool:
    """Whether any open of ``fd``'s file, ``fd``'s own included, holds any of the bytes:
    asked through a fresh open of it, which every other open's lock conflicts with."""
    probe = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
    try:
        return _others_hold(probe, start, length)
    finally:
        os.close(probe)


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))  # OSError(EACCES, …) is a PermissionError


def locking(fd: int, mode: int, nbytes: int) -> None:
    """Lock or unlock ``nbytes`` bytes of ``fd``'s file from its current position."""
    start = os.lseek(fd, 0, os.SEEK_CUR)
    if nbytes <= 0 or mode not in (LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK):
        raise _error(errno.EINVAL)
    if mode == LK_UNLCK:
        mine = _anyone_holds(fd, start, nbytes) and not _others_hold(fd, start, nbytes)
        if not mine:
            raise _error(errno.EACCES)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, start, nbytes))
        return
    attempts = ATTEMPTS if mode in (LK_LOCK, LK_RLCK) else 1
    for attempt in range(attempts):
        if attempt:
            time.sleep(RETRY_SECONDS)
        if _anyone_holds(fd, start, nbytes):
            continue
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_WRLCK, start, nbytes))
        except OSError as exc:  # another took it in between
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            continue
        return
    raise _error(errno.EACCES if attempts == 1 else errno.EDEADLOCK)


def is_locked(path: str | os.PathLike[str], start: int, length: int) -> bool:
    """Whether any of ``length`` bytes of ``path`` from ``start`` are locked: what Windows
    would refuse another descriptor's read of."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _others_hold(fd, start, length)
    finally:
        os.close(fd)
