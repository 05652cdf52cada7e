"""The fake ``msvcrt`` (tests/support/fake_msvcrt.py) does what its docstring says the real
one does: the tests of the Windows locks are only as good as it is."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import fake_msvcrt as msvcrt

TESTS = Path(__file__).resolve().parents[1]


def _at(fd: int, position: int) -> int:
    os.lseek(fd, position, os.SEEK_SET)
    return fd


def test_bytes_past_the_end_lock_and_another_descriptor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.lock"
    path.write_bytes(b"pid 1")
    first = os.open(path, os.O_RDWR)
    second = os.open(path, os.O_RDWR)  # the same process: a lock is its descriptor's
    try:
        msvcrt.locking(_at(first, 1000), msvcrt.LK_NBLCK, 1)
        assert msvcrt.is_locked(path, 1000, 1) and not msvcrt.is_locked(path, 0, 1000)
        with pytest.raises(PermissionError) as refused:
            msvcrt.locking(_at(second, 1000), msvcrt.LK_NBLCK, 1)
        assert refused.value.errno == errno.EACCES
        with pytest.raises(PermissionError):  # overlapping its own region: refused too
            msvcrt.locking(_at(first, 999), msvcrt.LK_NBRLCK, 2)
        with pytest.raises(PermissionError):  # not this descriptor's to unlock
            msvcrt.locking(_at(second, 1000), msvcrt.LK_UNLCK, 1)
        msvcrt.locking(_at(second, 1001), msvcrt.LK_NBLCK, 1)  # the next byte is free
        msvcrt.locking(_at(first, 1000), msvcrt.LK_UNLCK, 1)
        with pytest.raises(PermissionError):  # unlocked already
            msvcrt.locking(_at(first, 1000), msvcrt.LK_UNLCK, 1)
        msvcrt.locking(_at(second, 1000), msvcrt.LK_NBLCK, 1)
    finally:
        os.close(first)
    os.close(second)  # closing releases
    assert not msvcrt.is_locked(path, 0, 2000)


def test_a_lock_refuses_another_process_until_it_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "f.lock"
    path.touch()
    other = (
        "import os, sys\nfrom support import fake_msvcrt as m\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\nos.lseek(fd, 7, os.SEEK_SET)\n"
        "try:\n    m.locking(fd, m.LK_NBLCK, 1)\nexcept PermissionError:\n    print('refused')\n"
        "else:\n    print('locked')\n"
    )

    def try_it() -> str:
        env = {**os.environ, "PYTHONPATH": str(TESTS)}
        done = subprocess.run(
            [sys.executable, "-c", other, str(path)],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    fd = os.open(path, os.O_RDWR)
    msvcrt.locking(_at(fd, 7), msvcrt.LK_NBLCK, 1)
    assert try_it() == "refused"
    os.close(fd)
    assert try_it() == "locked"
