"""The claims on Windows (no ``fcntl``; ``msvcrt.locking``, here tests/support/
fake_msvcrt.py): a claim there always succeeded, so two hosts traded one paper account and
two DTMS engines acted on one store's trades. Now a second process is refused, in the very
words Linux gives, and the holder's words stay readable where Windows' mandatory lock
would hide the bytes it covers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import fake_msvcrt
from support.windows import LOCK_AS_ON_WINDOWS, RUN_AS_ON_WINDOWS, env, windows_locks

from dtms_plugin.store import Store
from hookspecs.locks import WINDOWS_LOCK_BYTE
from hostapp.claims import claim, lock_beside

#: The most of the lock file a refused claim reads (hostapp.claims).
HOLDER_READ = 4096


def _other(kind: str, path: Path) -> str:
    """What another process, on Windows' locks, gets claiming ``path``."""
    done = subprocess.run(
        [sys.executable, "-c", LOCK_AS_ON_WINDOWS, kind, str(path)],
        capture_output=True, text=True, timeout=60, env=env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


#: Another process claiming a store on this system's own (POSIX) locks.
POSIX_STORE_PROBE = (
    "import sys\nfrom dtms_plugin.store import Store, StoreError\n"
    "s = Store(sys.argv[1])\ntry:\n    s.claim_engine()\nexcept StoreError as e:\n"
    "    print(e)\nelse:\n    print('got it')\n"
)


def _other_on_posix(state: Path) -> str:
    """What another process, on POSIX's locks, gets claiming the store ``state``."""
    done = subprocess.run(
        [sys.executable, "-c", POSIX_STORE_PROBE, str(state)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    windows_locks(monkeypatch)
    yield


def _engine_refused(state: Path, pid: int) -> str:
    return (
        f"store {state}: another DTMS engine (pid {pid}) manages these trades; two engines "
        "on one store would act on every trade twice (stop it, give each its own state_dir, "
        "share a Redis store: docs/scaling.md, or, for a host beside a dtms serve, set the "
        'host\'s [plugin.dtms] strategy = "remote")'
    )


@pytest.mark.usefixtures("on_windows")
def test_a_claim_refuses_another_process_naming_the_holder_until_released(
    tmp_path: Path,
) -> None:
    lock = lock_beside(tmp_path / "account.sqlite")
    holder = f"pid {os.getpid()} in {os.getcwd()}"
    first = claim(lock)
    second = claim(lock)  # this process again: shared, not refused by its own lock
    try:
        assert lock.read_bytes() == holder.encode()
        assert fake_msvcrt.is_locked(lock, WINDOWS_LOCK_BYTE, 1)
        assert not fake_msvcrt.is_locked(lock, 0, HOLDER_READ)  # readable on Windows
        assert _other("claim", lock) == holder
        second.release()
        assert _other("claim", lock) == holder
    finally:
        first.release()
    assert not fake_msvcrt.is_locked(lock, 0, WINDOWS_LOCK_BYTE + 1)
    assert _other("claim", lock) == "got it"


@pytest.mark.usefixtures("on_windows")
def test_a_store_refuses_a_second_engine_in_the_words_linux_gives(tmp_path: Path) -> None:
    state = tmp_path / "dtms"
    store = Store(state)
    try:
        store.claim_engine()
        store.claim_engine()  # again by this store: still held (a second handle was refused)
        assert (state / "engine.lock").read_bytes() == str(os.getpid()).encode()
        assert not fake_msvcrt.is_locked(state / "engine.lock", 0, 32)
        assert _other("store", state) == _engine_refused(state, os.getpid())
    finally:
        store.close()
    assert _other("store", state) == "got it"
    again = Store(state)  # a restart within the process, the first store closed
    try:
        again.claim_engine()
    finally:
        again.close()


def test_claiming_twice_on_one_store_keeps_the_posix_lock(tmp_path: Path) -> None:
    """On POSIX too: the second claim opened a second descriptor and closed the first,
    and closing any descriptor of a file drops the process's record lock on it."""
    state = tmp_path / "dtms"
    store = Store(state)
    try:
        store.claim_engine()
        store.claim_engine()
        assert _other_on_posix(state) == _engine_refused(state, os.getpid())
    finally:
        store.close()


def test_a_second_store_of_the_directory_closing_keeps_the_first_ones_lock(
    tmp_path: Path,
) -> None:
    """Two stores of one directory in one process (a restart within a process): closing
    the second closed its descriptor, which drops the process's POSIX lock, so another
    process could take the store while the first still ran its engine. They share one
    hold now, and the lock goes with the last of them."""
    state = tmp_path / "dtms"
    first, second = Store(state), Store(state)
    try:
        first.claim_engine()
        second.claim_engine()
        second.close()
        assert _other_on_posix(state) == _engine_refused(state, os.getpid())
    finally:
        first.close()
    assert _other_on_posix(state) == "got it"


def _run_refused(cwd: Path, *args: str) -> str:
    """The one line a command, on Windows' loop and locks, is refused with (exit 2)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AS_ON_WINDOWS, *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in env().items() if not k.startswith("HOSTAPP_")},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = done.stderr.splitlines()
    return line


@pytest.mark.usefixtures("on_windows")
def test_a_second_host_on_the_account_file_is_refused_in_one_line(tmp_path: Path) -> None:
    account = tmp_path / "a" / "account.sqlite"
    account.parent.mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "plugins.toml").write_text(
        f'[host]\nsymbols = ["XAUUSD"]\ncycle_seconds = 3600\n'
        f'[host.paper]\naccount_file = "{account}"\n'
    )
    with claim(lock_beside(account)):  # the running host's claim, from this process
        line = _run_refused(
            tmp_path / "b", "hostapp", "run", "--live", "--speed", "100000", "--days", "1"
        )
    assert line == (
        f"hostapp: plugins.toml [host.paper] account_file {account}: another host trades on "
        f"it (pid {os.getpid()} in {os.getcwd()}); two hosts on one account would each "
        "quote it from their own clock and close each other's trades (stop that one, or "
        "give this one an account_file of its own)"
    )


@pytest.mark.usefixtures("on_windows")
def test_a_second_dtms_serve_on_the_store_is_refused_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "dtms"
    config = tmp_path / "plugins.toml"
    config.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f'[host.paper]\naccount_file = "{tmp_path / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{state}"\n'
    )
    store = Store(state)
    try:
        store.claim_engine()  # the running engine's claim, from this process
        line = _run_refused(tmp_path, "dtms", "serve", "--config", str(config), "--port", "0")
    finally:
        store.close()
    assert line == f"dtms: cannot start: {_engine_refused(state, os.getpid())}"
