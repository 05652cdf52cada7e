"""``host.execute(...)`` called and never awaited: the action was never carried out.

:meth:`hostapp.host.Host.execute` is a coroutine function (hookspecs' ``HostView``). A
sync hook that calls it without ``await`` (or an async one that forgets it) gets a
coroutine object back and drops it: nothing reaches the broker, and Python says only
``RuntimeWarning: coroutine … was never awaited``, once, naming no plugin and no action.
The plugin's own report may well count the action as sent.

So each coroutine ``execute`` returns is watched (:meth:`UnawaitedActions.watch`): a
native coroutine still (``inspect.iscoroutine``, a task's name, ``gather``), with a
finaliser that, when it goes without ever having started, tells
:meth:`UnawaitedActions.dropped`. That says the first of each plugin in one ERROR line
naming the plugin, the action and the fix, counts the rest (once per episode,
docs/architecture.md §4), and gives the run's summary one note per plugin. The plugin is
the one whose hook called ``execute`` (:data:`~hostapp.hookcalls.CALLING`), taken when
it called.

Python's own ``RuntimeWarning: coroutine 'Host._execute' was never awaited`` (and its
"Enable tracemalloc" line) would follow that ERROR line on stderr, saying the same thing
without the plugin's name: it is ignored (:func:`quiet_python_warning`) wherever a host
watches its coroutines, an A/B's worker process too, since each builds its own host.
Every other coroutine never awaited (a plugin's own) is still warned about.
"""

from __future__ import annotations

import logging
import re
import warnings
import weakref
from collections.abc import Coroutine
from typing import Any

from hookspecs import Action, ActionResult

#: the name :class:`UnawaitedActions` gives a call made outside any plugin's hook
OUTSIDE = "outside any plugin hook"

#: set by the coroutine when it starts: whether it ever ran
Started = list[bool]

#: Python's warning for the host's own coroutine dropped unawaited, which
#: :meth:`UnawaitedActions.dropped` says instead (a regular expression of its start)
PYTHON_WARNING = re.escape("coroutine 'Host._execute' was never awaited")


def quiet_python_warning() -> None:
    """Ignore Python's "never awaited" warning for ``Host._execute`` alone: the ERROR line
    names the plugin and the fix; the warning would only repeat it, nameless."""
    # appended: a filter of the user's own (``-W error::RuntimeWarning``) still wins
    warnings.filterwarnings("ignore", message=PYTHON_WARNING, category=RuntimeWarning, append=True)


class UnawaitedActions:
    """The actions each plugin dropped unawaited, and their words."""

    __slots__ = ("counts", "first", "log")

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        quiet_python_warning()  # in this process, where this host watches its coroutines
        #: plugin → how many of its ``host.execute`` calls were never awaited
        self.counts: dict[str, int] = {}
        #: plugin → the first such action, as the note names it
        self.first: dict[str, str] = {}

    def watch(
        self,
        coro: Coroutine[Any, Any, ActionResult],
        started: Started,
        action: Action,
        plugin: str | None,
    ) -> None:
        """Say ``action`` dropped if ``coro`` goes without having set ``started``."""
        weakref.finalize(coro, self._gone, started, action, plugin)

    def _gone(self, started: Started, action: Action, plugin: str | None) -> None:
        if not started[0]:
            self.dropped(plugin, action)

    def dropped(self, plugin: str | None, action: Action) -> None:
        who = plugin or OUTSIDE
        count = self.counts.get(who, 0) + 1
        self.counts[who] = count
        if count > 1:
            return
        what = f"{action.kind.value} of ticket {action.ticket}"
        self.first[who] = what
        self.log.error(
            "plugin %r called host.execute(...) for %s without awaiting it: the action was "
            "never carried out (write 'await host.execute(...)' in an async hook; later "
            "ones are counted in the run's summary)",
            who,
            what,
        )

    def notes(self) -> list[str]:
        return [
            f"plugin {who!r} called host.execute without awaiting it {n:,} time"
            f"{'s' if n > 1 else ''} (the first: {self.first[who]}): none of those actions "
            "was carried out"
            for who, n in self.counts.items()
        ]
