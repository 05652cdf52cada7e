"""The local engine's store folder deleted (``shutil.rmtree``) or moved away (renamed)
while it runs: real diskcache folders, and a real second process for the other engine.

It used to go on as if nothing happened: SQLite kept writing through the descriptors it
had open, into a ``cache.db`` no longer in the folder, ``engine.lock`` went with it (a
second engine could start there), and everything since was lost when the process ended,
a restart adopting the open positions afresh. Now the engine's store takes its folder
back at its next write (the database it still has open copied there whole, its lock
claimed again) in one WARNING, or, when another engine or another store is there now,
refuses as a store outage: one ERROR, the cycle fails with it, nothing is sent, and
what it meant to write goes in once it can (docs/dtms.md §8).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from dtms_plugin.store import Store, StoreError
from dtms_plugin.store.readonly import ReadOnlyStore

TAKEN_BACK = "made again there, with everything the store held copied"

#: a second engine in its own process: claims the folder, says so, holds it until stdin ends
_OTHER_ENGINE = (
    "import sys\nfrom dtms_plugin.store import Store\n"
    "s = Store(sys.argv[1])\ns.claim_engine()\ns.put_value('other', 1)\n"
    "print('held', flush=True)\nsys.stdin.read()\n"
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Two trades open and scored, their records, states and first cycles written."""
    r = Rig(tmp_path / "dtms")
    await r.start()
    await r.open_buy(ticket=1, volume=1.0)
    await r.open_buy(ticket=2, volume=0.5)
    await r.cycles(2)
    yield r
    await r.stop()


@contextmanager
def _read(directory: Path) -> Iterator[ReadOnlyStore]:
    store = ReadOnlyStore(directory)
    try:
        yield store
    finally:
        store.close()


def _engine_refused(directory: Path) -> str:
    """What a second engine, in a process of its own, is told on the folder."""
    probe = (
        "import sys\nfrom dtms_plugin.store import Store, StoreError\n"
        "s = Store(sys.argv[1])\ntry:\n    s.claim_engine()\nexcept StoreError as e:\n"
        "    print(e)\nelse:\n    print('claimed')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(directory)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


async def _cycle(rig: Rig) -> StoreError | None:
    try:
        await rig.cycles(1)
    except StoreError as exc:
        return exc
    return None


def _said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def _through_the_ladder(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """Seven more cycles: the ninth of the rig's trades moves both to WARNING_L1 with a
    stop move each (an action after the deletion), every cycle going through."""
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        for _ in range(7):
            assert await _cycle(rig) is None
    assert rig.transitions() == [("HEALTHY", "WARNING_L1")] * 2
    assert rig.broker.count("modify_sl_tp") == 2


def _all_there(rig: Rig, directory: Path) -> None:
    """Every record and state the engine holds, and the stop moves' history, in the
    store at the folder's path: what a restart would load."""
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    with _read(directory) as store:
        records = store.records()
        assert set(records) == {1, 2}
        for ticket, rec in rig.strategy.records.items():
            assert records[ticket]["state"] == rec.state.value == "WARNING_L1"
            assert [e["status"] for e in records[ticket]["journal"]] == ["done"]
            state = store.get_state(ticket)
            assert state is not None and state[0] == "WARNING_L1"
            assert [(h["kind"], h["ok"]) for h in store.actions(ticket)] == [("tighten_sl", True)]
    assert _engine_refused(directory).startswith(
        f"store {directory}: another DTMS engine (pid {os.getpid()}) manages these trades"
    )


async def test_a_deleted_folder_is_made_again_with_everything_and_said_once(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "dtms"
    shutil.rmtree(directory)
    await _through_the_ladder(rig, caplog)
    _all_there(rig, directory)
    (said,) = _said(caplog)
    assert said.levelname == "WARNING"
    assert said.message.startswith(
        f"store {directory}: its folder was deleted or moved away under this engine: " + TAKEN_BACK
    )
    assert "(trade records 2, states 2, action history entries 0)" in said.message


async def test_a_folder_moved_away_is_made_again_and_the_moved_one_left_alone(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory, moved = tmp_path / "dtms", tmp_path / "dtms.old"
    directory.rename(moved)
    await _through_the_ladder(rig, caplog)
    _all_there(rig, directory)
    (said,) = _said(caplog)
    assert TAKEN_BACK in said.message
    with _read(moved) as old:  # as it was when moved: nothing written there since
        assert {t: r["state"] for t, r in old.records().items()} == {1: "HEALTHY", 2: "HEALTHY"}
        assert old.actions() == []


async def test_another_engine_there_now_is_refused_in_one_line_and_nothing_is_sent(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleted, and another engine (a real process) started on the folder meanwhile:
    this one writes nothing into that engine's store and sends no action; each cycle
    fails with the store's error, said once. Once that engine has stopped, and its
    store (which holds a row) has been moved away, this engine's store is made there
    again with what it kept."""
    directory = tmp_path / "dtms"
    shutil.rmtree(directory)
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_ENGINE, str(directory)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        with caplog.at_level(logging.DEBUG, logger="dtms_plugin"):
            failed = [await _cycle(rig) for _ in range(7)]
    finally:
        other.communicate("", timeout=60)
    assert all(f is not None and f.unavailable for f in failed), failed
    assert str(failed[0]) == (
        f"store {directory}: its folder was deleted or moved away under this engine, and "
        f"another DTMS engine (pid {other.pid}) holds the one there now: this engine keeps "
        "its writes in memory and sends no action (two engines would act on every trade "
        "twice; stop one of them)"
    )
    said = _said(caplog)
    assert [r.levelname for r in said] == ["ERROR", "WARNING"], [r.message for r in said]
    assert said[0].message.startswith(str(failed[0]))
    assert all(r.exc_info is None for r in caplog.records)  # no traceback
    assert rig.broker.count("modify_sl_tp") == 0  # the transition's stop move: held back
    with _read(directory) as theirs:
        assert theirs.records() == {} and theirs.get_value("other") == 1

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        refused = await _cycle(rig)  # that engine gone, its store there: not overwritten
        assert refused is not None
        assert "a store holding rows is there now (left as it is)" in str(refused)
        directory.rename(tmp_path / "theirs")
        assert await _cycle(rig) is None
    assert rig.broker.count("modify_sl_tp") == 2  # sent once the journal could be written
    _all_there(rig, directory)
    ends = [r.message for r in _said(caplog)]
    assert any(TAKEN_BACK in m for m in ends), ends


async def test_an_empty_store_made_there_meanwhile_is_replaced(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store holding nothing (a process that opened the missing folder's store and
    went) is not someone else's trades: this engine's store takes its place."""
    directory = tmp_path / "dtms"
    shutil.rmtree(directory)
    Store(directory).close()
    await _through_the_ladder(rig, caplog)
    _all_there(rig, directory)


async def test_a_quiet_engine_claims_its_folder_again_within_a_cycle(tmp_path: Path) -> None:
    """No trade open, nothing to write: the cycle still checks the folder, so a second
    engine cannot start on it for want of the lock."""
    directory = tmp_path / "dtms"
    rig = Rig(directory)
    await rig.start()
    try:
        shutil.rmtree(directory)
        await rig.cycles(1)
        assert _engine_refused(directory).startswith(
            f"store {directory}: another DTMS engine (pid {os.getpid()})"
        )
    finally:
        await rig.stop()


async def test_engine_lock_deleted_alone_is_claimed_again(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone removed the lock file thinking it stale: taken again at the next write,
    said once, and a second engine is refused again."""
    directory = tmp_path / "dtms"
    (directory / "engine.lock").unlink()
    with caplog.at_level(logging.WARNING, logger="dtms_plugin"):
        await rig.cycles(2)
    (said,) = [r.message for r in _said(caplog)]
    assert (
        said == f"store {directory}: engine.lock was deleted while this engine ran: claimed again"
    )
    assert _engine_refused(directory).startswith(f"store {directory}: another DTMS engine")
