"""The event loop as Windows has it, for tests on Linux: no signal handlers.

Every asyncio loop on Windows (the default ``ProactorEventLoop``, ``SelectorEventLoop``)
inherits ``add_signal_handler`` and ``remove_signal_handler`` from
:class:`asyncio.AbstractEventLoop`, which raise ``NotImplementedError`` ("loop.add_signal_handler()
and loop.remove_signal_handler() are not supported": the asyncio docs' Platform Support).
Giving Linux's loop those very methods is the one difference this stands in for; Python's own
``signal.signal`` handlers work on both, and a Ctrl-C wakes either loop.

:data:`RUN_AS_ON_WINDOWS` runs a console script (``python -c RUN_AS_ON_WINDOWS hostapp
serve …``) with the loop so made.
"""

from __future__ import annotations

import asyncio
import asyncio.unix_events

#: The methods of every Windows event loop: they raise NotImplementedError.
WINDOWS_ADD = asyncio.AbstractEventLoop.add_signal_handler
WINDOWS_REMOVE = asyncio.AbstractEventLoop.remove_signal_handler


def as_on_windows() -> None:
    """Linux's event loops from now on take no signal handlers, as Windows' take none."""
    loop = asyncio.unix_events._UnixSelectorEventLoop
    loop.add_signal_handler = WINDOWS_ADD  # type: ignore[method-assign]
    loop.remove_signal_handler = WINDOWS_REMOVE  # type: ignore[method-assign]


#: ``python -c RUN_AS_ON_WINDOWS SCRIPT ARG…``: the console script ``SCRIPT`` (``hostapp``,
#: ``dtms``) with its arguments, its event loops as Windows' (:func:`as_on_windows`).
RUN_AS_ON_WINDOWS = """
import sys
from importlib.metadata import entry_points

from support.windows_loop import as_on_windows

as_on_windows()
(script,) = entry_points(group="console_scripts", name=sys.argv[1])
sys.argv = sys.argv[1:]
sys.exit(script.load()())
"""
