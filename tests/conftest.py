"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig
from support.dtms_server_world import World, wavy_path
from support.redis_server import RedisServer, start_redis, stop_redis


@pytest.fixture(autouse=True, scope="session")
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The per-user state folder (a MetaTrader account's DTMS engine lock: brokers/
    mt5_convert.py) in this session's temporary folder: no lock in the user's home, and
    none shared with another suite running on this machine."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state_home"))
    yield
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(autouse=True)
def _test_state_home(_state_home: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The per-user state folder of each test its own (the session's for wider fixtures):
    a fake MetaTrader account's DTMS ledger (dtms_plugin/account_ledger.py) left by one
    test is not taken up by the next, whose account has the same server, login and
    tickets."""
    before = os.environ["XDG_STATE_HOME"]
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state_home"))
    yield
    os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(autouse=True, scope="session")
def _children_take_sigint() -> Iterator[None]:
    """The commands the tests start stop on the SIGINT a test sends them (Ctrl-C, a
    plugin's own ``os.kill``). A pytest started where SIGINT is ignored (a non-interactive
    shell's background job, ``nohup``) passed that on to every child, which ignored it
    and ran until killed (the Ctrl-C start-up tests: -9 after 60 s; the weekend restart:
    0, not 130). With a handler of Python's own here, a child starts with the default."""
    before = signal.getsignal(signal.SIGINT)
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, its directory in tmp_path."""
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        stop_redis(server.process)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The DTMS local strategy, started over a scripted broker with its store in tmp_path
    (a module that needs trades open from the start overrides it)."""
    r = Rig(tmp_path / "dtms")
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def world() -> World:
    """The scripted market and broker the DTMS server and client tests run over."""
    return World({"XAUUSD": wavy_path(2000.0, 400), "EURUSD": wavy_path(1.1, 400)}, visible=300)
