"""Whether the DTMS server answers, as the remote strategy sees it.

A server that does not answer is a problem that repeats on every cycle: the outbox is
retried and the states refreshed each time. It is said once when it starts (at ERROR:
the server cannot take this host's new trades meanwhile), counted while it lasts, and said once
more when the server answers again; the run's report says it in words
(:meth:`ServerHealth.note`). While it lasts, the per-request lines of
:mod:`dtms_plugin.http_client` go to DEBUG, and a cycle does not wait for the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hookspecs.events import FOR_TERMINAL


@dataclass
class ServerHealth:
    url: str
    log: logging.Logger
    now: Callable[[], datetime] = field(repr=False)
    #: when the current episode began (``None``: the server answers)
    down_since: datetime | None = None
    #: failed tries (outbox passes, refreshes, the start-up check) in the current episode
    failures: int = 0
    episodes: int = 0
    failures_total: int = 0
    #: why the server refused this host (its token), when that is why: it answers
    refused: str | None = None
    #: how long a cached state still answers ``is_defensive`` (the setting), for the
    #: episode's first line: a defended trade reads as not defensive past it
    last_known_seconds: float = 30.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, what: str, *, refused: bool = False, unanswered: bool = False) -> None:
        """A try found the server not answering, or (``refused``) answering that this
        host may not use it (a wrong token); ``what`` says which and why. ``unanswered``:
        no answer came at all (a connection refused, a timeout), so a refusal said before
        is no longer the cause: a server that refused this host and then stopped
        answering is "not answering" (the entry veto and the report name the cause)."""
        self.failures += 1
        self.failures_total += 1
        if refused:
            self.refused = what
        elif unanswered:
            self.refused = None
        if self.down_since is not None:
            self.log.debug("DTMS server %s still not answering: %s", self.url, what)
            return
        self.down_since = self.now()
        self.episodes += 1
        self.log.error(
            "DTMS server %s %s (%s): until it does, this host cannot hand it trades nor "
            "learn their states; registrations and closes wait in the outbox, retried every "
            "cycle; a trade it defends reads as defensive only for last_known_seconds (%g "
            "s) after its state was last learned, then as not (docs/dtms.md §9) (said again "
            "when it answers)",
            self.url,
            "refuses this host" if refused else "is not answering",
            what,
            self.last_known_seconds,
        )

    def answered(self) -> None:
        """A try reached the server."""
        if self.down_since is None:
            return
        self.log.warning(
            "DTMS server %s answers again, after %s since %s",
            self.url,
            _tries(self.failures),
            self.down_since.isoformat(),
            extra={FOR_TERMINAL: True},  # where "not answering" was read, at ERROR
        )
        self.down_since = None
        self.failures = 0
        self.refused = None

    def note(self, pending: int) -> str | None:
        """The episodes of this run in words, for its report; ``None`` when there were
        none. ``pending``: outbox entries not delivered yet."""
        if not self.episodes:
            return None
        waiting = f"; {pending} outbox entries not delivered" if pending else ""
        if self.down_since is not None:
            how = f"refusing this host ({self.refused})" if self.refused else "not answering"
            return (
                f"DTMS server {self.url} {how} since {self.down_since.isoformat()} "
                f"({_tries(self.failures)}): trades opened meanwhile were not "
                f"handed to it{waiting}"
            )
        times = "once" if self.episodes == 1 else f"{self.episodes} times"
        return (
            f"DTMS server {self.url} stopped answering {times} "
            f"({_tries(self.failures_total)}); trades opened meanwhile reached it late{waiting}"
        )


def _tries(n: int) -> str:
    return "1 failed try" if n == 1 else f"{n} failed tries"


def dtms_health_body(body: Any) -> bool:
    """Whether a ``/health`` body is DTMS's own (``engine_running``, ``problems``): a 503
    with it is DTMS answering, unhealthy; without it, a proxy's, no answer."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("engine_running"), bool)
        and isinstance(body.get("problems"), list)
    )
