"""A directory store whose folder is deleted under it (store/folder.py), on real folders:
what a store that owns no engine does (a host on the remote strategy sharing the folder
with the engine), a folder that cannot be made again (a store outage), and a second store
of the same process claiming the folder after it went (``hookspecs.locks.hold`` shared the
old lock, on a file no longer there, so it held nothing)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dtms_plugin.store import Store, StoreError
from dtms_plugin.store.readonly import ReadOnlyStore


def _claimed_by_another_process(directory: Path) -> bool:
    probe = (
        "import sys\nfrom dtms_plugin.store import Store, StoreError\n"
        "s = Store(sys.argv[1])\ntry:\n    s.claim_engine()\nexcept StoreError:\n"
        "    print('refused')\nelse:\n    print('claimed')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(directory)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip() == "claimed"


def test_a_second_store_of_the_process_claims_the_folder_there_now(tmp_path: Path) -> None:
    directory = tmp_path / "dtms"
    first = Store(directory)
    first.claim_engine()
    shutil.rmtree(directory)
    with Store(directory) as second:  # a restart within the process, on the folder made again
        second.claim_engine()
        assert not _claimed_by_another_process(directory)
    first.close()


def test_a_store_of_no_engine_says_its_writes_are_lost_then_follows_the_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A host on the remote strategy writing its outbox into the folder ``dtms serve``'s
    engine owns: it never makes the folder itself (the engine does, with its database),
    says once that what it writes meanwhile is lost, and opens the engine's store once
    that is back, where its next writes go."""
    directory = tmp_path / "dtms"
    engine, host = Store(directory), Store(directory)
    engine.claim_engine()
    engine.put_record(1, {"ticket": 1})
    shutil.rmtree(directory)
    with caplog.at_level(logging.WARNING, logger="dtms_plugin.store"):
        host.outbox_put(7, {"n": 1})
        host.outbox_put(8, {"n": 2})
        assert not directory.exists()
        engine.put_record(2, {"ticket": 2})
        host.outbox_put(9, {"n": 3})
    said = [(r.levelname, r.message) for r in caplog.records]
    assert [level for level, _ in said] == ["ERROR", "WARNING", "WARNING"], said
    assert said[0][1] == (
        f"store {directory}: its folder was deleted or moved away under this process: what it "
        "writes goes to a file no longer there, lost when it ends (said once; its store is "
        "opened again once one is there)"
    )
    assert "made again there" in said[1][1]
    assert said[2][1].startswith(f"store {directory}: its folder was deleted or moved away")
    assert "the store there now is opened in its place" in said[2][1]
    reader = ReadOnlyStore(directory)
    try:
        assert set(reader.records()) == {1, 2}
        # the engine's copy holds what the host wrote before it; the write after is there too
        assert [t for t, _ in reader.outbox_items()] == [7, 8, 9]
    finally:
        reader.close()
        engine.close()
        host.close()


def test_a_folder_that_cannot_be_made_again_is_an_outage_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file where its parent folder was: every write refused as a whole (the engine keeps
    them), one ERROR; once the path is free, the next write takes the folder back."""
    parent = tmp_path / "a"
    directory = parent / "dtms"
    store = Store(directory)
    store.claim_engine()
    store.put_record(1, {"ticket": 1})
    shutil.rmtree(parent)
    parent.write_text("not a folder")
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin.store"):
        for ticket in (2, 3, 4):
            with pytest.raises(StoreError) as refused:
                store.put_record(ticket, {"ticket": ticket})
            assert refused.value.unavailable
    assert str(refused.value).startswith(
        f"store {directory}: its folder was deleted or moved away under this engine, and it "
        f"cannot be made again: cannot open store in {directory}:"
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None, [r.message for r in errors]
    parent.unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dtms_plugin.store"):
        store.put_record(5, {"ticket": 5})
    assert [r.message.split(": ")[1][:24] for r in caplog.records] == [
        "its folder was deleted o",
        "writes go through again,",
    ]
    assert set(store.records()) == {1, 5}
    store.close()
