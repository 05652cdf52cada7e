"""A directory store on a full disk: one episode, said once at ERROR naming its folder and
that the disk is full, its refusals counted at DEBUG, its end said at WARNING with the
count once a write goes through and the database has room again (store/outage.py). The
disk is full as SQLite sees one: the database capped at its size (``PRAGMA
max_page_count``) and its free room filled; or ``ENOSPC`` from the disk layer."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import pytest
from support.full_disk import cap

from dtms_plugin.store import JsonDisk, Store
from dtms_plugin.store.outage import DISK_FULL, DiskFullError, WriteOutage

LOG = "dtms_plugin.store"


def test_a_full_disk_is_one_error_and_its_end_one_warning_with_the_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every write refused for a full disk was its own ERROR line; a row rewritten in place
    (a full disk still takes it) does not end the episode, room again does."""
    store = Store(tmp_path / "dtms", log=logging.getLogger(LOG))
    try:
        store.put_value("stamp", "a" * 20)
        with caplog.at_level(logging.DEBUG, logger=LOG):
            cap(store, full=True)
            for n in range(50):
                with pytest.raises(DiskFullError):
                    store.put_record(n, {"ticket": n, "note": "y" * 2000})
                store.put_value("stamp", chr(ord("a") + n % 20) * 20)  # in place: goes in
        said = [r for r in caplog.records if r.levelno > logging.DEBUG]
        assert [r.levelno for r in said] == [logging.ERROR], [r.getMessage() for r in said]
        assert said[0].getMessage().startswith(f"store {store.directory}: ")
        assert "the disk is full (database or disk is full)" in said[0].getMessage()
        refused = sum(1 for r in caplog.records if "the disk is full" in r.getMessage())
        caplog.clear()
        cap(store, full=False)
        with caplog.at_level(logging.DEBUG, logger=LOG):
            store.put_record(1, {"ticket": 1})
            store.put_record(2, {"ticket": 2})
        (ended,) = caplog.records
        assert ended.levelno == logging.WARNING
        assert ended.getMessage().startswith(
            f"store {store.directory}: the disk has room again: writes go through again, "
            f"after {refused} writes refused"
        )
    finally:
        store.close()


class NoSpace(JsonDisk):
    """Every value written fails as a file write on a disk with no byte left."""

    full = False

    def store(self, value: Any, read: bool, key: Any = None) -> Any:
        if NoSpace.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().store(value, read, key)


def test_enospc_is_the_same_episode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``ENOSPC`` from a file write is a full disk too: said once, raised as one."""
    store = Store(tmp_path / "dtms", disk=NoSpace, log=logging.getLogger(LOG))
    try:
        NoSpace.full = True
        with caplog.at_level(logging.DEBUG, logger=LOG):
            for n in range(10):
                with pytest.raises(DiskFullError):
                    store.put_value(f"v{n}", n)
        said = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
        assert len(said) == 1 and "the disk is full" in said[0], said
        assert store.last_write_failure is not None
    finally:
        NoSpace.full = False
        store.close()


def test_a_lock_then_a_full_disk_are_two_episodes_each_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full disk while a lock's episode lasts is new, said at ERROR, not counted silently
    into the lock's; a write that goes through without room ends the lock's only."""
    outage = WriteOutage()
    log = logging.getLogger(LOG)
    with caplog.at_level(logging.DEBUG, logger=LOG):
        outage.refused(log, "locked")
        outage.refused(log, "locked")
        outage.refused(log, "full", DISK_FULL)
        outage.refused(log, "full", DISK_FULL)
        outage.went_through(log, "here", lambda: False)
        outage.went_through(log, "here", lambda: True)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert [(level, text.split(" over ")[0]) for level, text in said] == [
        ("ERROR", "locked (said once until a write goes through)"),
        ("ERROR", "full (said once until a write goes through)"),
        ("WARNING", "store here: writes go through again, after 2 writes refused"),
        (
            "WARNING",
            "store here: the disk has room again: writes go through again, after 2 writes refused",
        ),
    ]
