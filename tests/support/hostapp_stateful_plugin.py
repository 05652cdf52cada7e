"""Plugins that keep state between hook calls, as third parties write them: a module with a
global, an object made at import, and one that cannot be copied (it holds a lock)."""

from __future__ import annotations

import threading
from datetime import datetime

from hookspecs import HostView, hookimpl

cycles_seen = 0  # the module plugin's state


@hookimpl
def on_cycle(host: HostView, now: datetime) -> None:
    global cycles_seen
    cycles_seen += 1


class Counter:
    def __init__(self) -> None:
        self.cycles_seen = 0

    @hookimpl
    def on_cycle(self, host: HostView, now: datetime) -> None:
        self.cycles_seen += 1


class Locked(Counter):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


counter = Counter()
locked = Locked()
