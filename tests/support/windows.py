"""Windows as hostapp meets it, for tests on Linux: an event loop without signal handlers,
and ``msvcrt``'s locks where ``fcntl``'s are missing.

- Every asyncio loop on Windows (the default ``ProactorEventLoop``, ``SelectorEventLoop``)
  inherits ``add_signal_handler`` and ``remove_signal_handler`` from
  :class:`asyncio.AbstractEventLoop`, which raise ``NotImplementedError`` (the asyncio
  docs' Platform Support: "not supported" on Windows). Giving Linux's loop those very
  methods is the one difference :func:`loop_as_on_windows` stands in for; Python's own
  ``signal.signal`` handlers work on both, and a signal wakes either loop.
- Windows has no ``fcntl``, and ``msvcrt.locking`` instead (tests/support/fake_msvcrt.py):
  :func:`locks_as_on_windows` makes ``import fcntl`` fail and ``import msvcrt`` give the
  fake, before :mod:`hookspecs.locks` is imported; :func:`windows_locks` does it to the
  imported module, for a test's own process.

:data:`RUN_AS_ON_WINDOWS` runs a console script (``python -c RUN_AS_ON_WINDOWS hostapp
serve …``) with both, ``tests/`` on its ``PYTHONPATH`` (:func:`env`).
"""

from __future__ import annotations

import asyncio
import asyncio.unix_events
import os
import sys
from pathlib import Path

import pytest

from support import fake_msvcrt

#: The methods of every Windows event loop: they raise NotImplementedError.
WINDOWS_ADD = asyncio.AbstractEventLoop.add_signal_handler
WINDOWS_REMOVE = asyncio.AbstractEventLoop.remove_signal_handler
TESTS = Path(__file__).resolve().parents[1]


def loop_as_on_windows() -> None:
    """Linux's event loops from now on take no signal handlers, as Windows' take none."""
    loop = asyncio.unix_events._UnixSelectorEventLoop
    loop.add_signal_handler = WINDOWS_ADD  # type: ignore[method-assign]
    loop.remove_signal_handler = WINDOWS_REMOVE  # type: ignore[method-assign]


def locks_as_on_windows() -> None:
    """No ``fcntl`` and the fake ``msvcrt``, for what is imported from now on."""
    assert "hookspecs.locks" not in sys.modules, "too late: hookspecs.locks has its fcntl"
    sys.modules["fcntl"] = None  # type: ignore[assignment]  # import fcntl: ImportError
    sys.modules["msvcrt"] = fake_msvcrt


def windows_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """:mod:`hookspecs.locks` as it is on Windows, for the rest of the test."""
    from hookspecs import locks

    monkeypatch.setattr(locks, "fcntl", None)
    monkeypatch.setattr(locks, "msvcrt", fake_msvcrt)


def env(**more: str) -> dict[str, str]:
    """This process's environment with ``tests/`` on ``PYTHONPATH`` (and ``more``)."""
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **more}


#: ``python -c RUN_AS_ON_WINDOWS SCRIPT ARG…``: the console script ``SCRIPT`` (``hostapp``,
#: ``dtms``) with its arguments, on Windows' event loop and locks.
RUN_AS_ON_WINDOWS = """
import sys
from importlib.metadata import entry_points

from support.windows import locks_as_on_windows, loop_as_on_windows

loop_as_on_windows()
locks_as_on_windows()
(script,) = entry_points(group="console_scripts", name=sys.argv[1])
sys.argv = sys.argv[1:]
sys.exit(script.load()())
"""

#: ``python -c LOCK_AS_ON_WINDOWS KIND PATH``: what a second process on Windows gets when
#: it claims ``PATH``: ``claim`` (a ``hostapp.claims`` lock file) or ``store`` (a DTMS store
#: directory's engine); prints "got it" or the refusal.
LOCK_AS_ON_WINDOWS = """
import sys
from pathlib import Path

from support.windows import locks_as_on_windows

locks_as_on_windows()
from hookspecs import locks

assert locks.fcntl is None and locks.msvcrt is not None
kind, path = sys.argv[1], Path(sys.argv[2])
if kind == "claim":
    from hostapp.claims import Held, claim

    try:
        claim(path)
    except Held as exc:
        print(exc.holder)
    else:
        print("got it")
else:
    from dtms_plugin.store import Store, StoreError

    store = Store(path)
    try:
        store.claim_engine()
    except StoreError as exc:
        print(exc)
    else:
        print("got it")
    store.close()
"""
