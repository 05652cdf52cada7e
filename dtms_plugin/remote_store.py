"""The remote strategy's own store out of reach (a Redis store down for a while, a folder
refusing reads): an episode, not a failure of every hook.

A 30 s Redis outage used to switch DTMS off on the host for five minutes: the cycle's
read of the outbox raised into the host, whose breaker trips after five failures in a
row, while its fail-safe read every trade as defensive and blocked new orders; and the
log said that "registrations and closes wait in the outbox", the very thing that could not
be reached. Now:

- the outage is said once at ERROR, with what the host does meanwhile, and once at
  WARNING when the store answers again, with the count of failed reads and writes;
  ``/health`` names it while it lasts;
- the cycle does not raise for it: the outbox entries kept in memory (those the store
  refused: :meth:`~.remote_outbox.OutboxPasses._keep`) are sent meanwhile and stored
  when it is back, so nothing is lost, and the states are still refreshed from the
  server;
- ``is_defensive`` answers by the documented rules (docs/dtms.md §9) from the states and
  account mode this process last learned, kept in memory (:class:`MemoryStates`), not
  by the host's fail-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from hookspecs.events import FOR_TERMINAL


class MemoryStates:
    """The states and account mode this process last learned from the server, stamped as
    in the store: what ``is_defensive`` answers from while the store cannot be read (the
    two reads :func:`dtms_plugin.defensive.answer` makes)."""

    def __init__(self) -> None:
        self._states: dict[int, tuple[str | None, datetime]] = {}
        self._mode: tuple[datetime, str] | None = None

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None:
        for ticket, state in states.items():
            self._states[ticket] = (state, at)

    def forget(self, ticket: int) -> None:
        self._states.pop(ticket, None)

    def put_account_mode(self, until: datetime | None, reason: str) -> None:
        self._mode = None if until is None else (until, reason)

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None:
        return self._states.get(ticket)

    def get_account_mode(self) -> tuple[datetime, str] | None:
        return self._mode


class StoreEpisode:
    """The host's store out of reach, said once for its episode (:mod:`.remote_store`)."""

    def __init__(self, where: Callable[[], str], log: logging.Logger) -> None:
        self._where = where
        self.log = log
        self.failures = 0
        self.error = ""

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, what: str, exc: Exception) -> None:
        """A read or write of the store failed as a whole (``what``: which)."""
        self.failures += 1
        self.error = f"{what}: {exc}"
        if self.failures > 1:
            self.log.debug("DTMS store still out of reach: %s: %s", what, exc)
            return
        self.log.error(
            "DTMS store %s out of reach (%s: %s): the outbox there cannot be read; "
            "registrations and closes of this host are kept in memory and sent to the "
            "server meanwhile, stored when the store is back (nothing is lost unless this "
            "process stops first); is_defensive answers from the states last learned, "
            "in memory (docs/dtms.md §9) (said again when it is back)",
            self._where(), what, exc,
        )  # fmt: skip

    def back(self, kept: int) -> None:
        """A read of the store worked: the end of an episode, said with its count."""
        if not self.failures:
            return
        tries = "1 failed try" if self.failures == 1 else f"{self.failures} failed tries"
        self.log.warning(
            "DTMS store %s answers again, after %s; %d entries kept in memory meanwhile "
            "are stored in its outbox",
            self._where(), tries, kept,
            extra={FOR_TERMINAL: True},  # where its ERROR was read
        )  # fmt: skip
        self.failures, self.error = 0, ""

    def problems(self) -> list[str]:
        """For the host's ``/health``: the store out of reach now."""
        if not self.failures:
            return []
        return [f"the DTMS store is out of reach ({self.failures} tries): {self.error}"]
