"""``host.execute(...)`` called and never awaited: the action was never carried out.

:meth:`hostapp.host.Host.execute` is a coroutine function (hookspecs' ``HostView``). A
sync hook that calls it without ``await`` (or an async one that forgets it) gets a
coroutine object back and drops it: nothing reaches the broker, and Python says only
``RuntimeWarning: coroutine 'Host.execute' was never awaited``, once, naming no plugin
and no action. The plugin's own report may well count the action as sent.

So the coroutine ``execute`` returns is wrapped (:class:`Execution`): dropped without
ever being started, it tells :class:`UnawaitedActions`, which says the first of each
plugin in one ERROR line naming the plugin, the action and the fix, counts the rest
(once per episode, docs/architecture.md §4), and gives the run's summary one note per
plugin. Awaited, handed to ``asyncio.create_task`` or ``gather``, it is the plain
coroutine it wraps.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Generator
from typing import Any

from hookspecs import Action, ActionResult

#: the name :class:`UnawaitedActions` gives a call made outside any plugin's hook
OUTSIDE = "outside any plugin hook"


class UnawaitedActions:
    """The actions each plugin dropped unawaited, and their words."""

    __slots__ = ("counts", "first", "log")

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        #: plugin → how many of its ``host.execute`` calls were never awaited
        self.counts: dict[str, int] = {}
        #: plugin → the first such action, as the note names it
        self.first: dict[str, str] = {}

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


class Execution(Coroutine[Any, Any, ActionResult]):
    """The coroutine of one ``host.execute`` call, which tells :class:`UnawaitedActions`
    when it is dropped before it was ever started."""

    __slots__ = ("_action", "_coro", "_plugin", "_started", "_unawaited")

    def __init__(
        self,
        coro: Coroutine[Any, Any, ActionResult],
        action: Action,
        plugin: str | None,
        unawaited: UnawaitedActions,
    ) -> None:
        self._coro = coro
        self._action = action
        self._plugin = plugin
        self._unawaited = unawaited
        self._started = False

    def __await__(self) -> Generator[Any, None, ActionResult]:
        self._started = True
        return self._coro.__await__()

    def send(self, value: Any) -> Any:
        self._started = True
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._started = True
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._started = True  # closed on purpose: not a forgotten await
        self._coro.close()

    def __del__(self) -> None:
        if self._started:
            return
        self._coro.close()  # no "never awaited" warning of its own: said below, better
        self._unawaited.dropped(self._plugin, self._action)
