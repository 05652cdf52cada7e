"""How :class:`~.redis_store.RedisStore` sends its one script (:mod:`.redis_script`):
each call once, even when its answer is lost. A mixin of the store, whose ``__init__``
sets the attributes declared here.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from .core import PER_TICKET_ACTIONS
from .disk import encode
from .opening import StoreError
from .outage import WriteOutage


class StaleWrite(StoreError):
    """A record write refused because the record changed since this store read it: another
    replica owns the trade now. The record keeps the newer state."""


class RedisCalls:
    location: str
    log: logging.Logger
    prefix: str
    outage: WriteOutage
    refused: set[int]
    _max_actions: int
    _versions: dict[int, int]
    _apply: Any
    _settle_call: Any
    _unsettled: tuple[str, list[list[Any]]] | None
    _replayed: list[str]

    def _send(self, ops: list[list[Any]], what: str) -> list[Any]:
        self._settle()
        sent = [op for op in ops if not self._was_replayed(op)]
        token = uuid.uuid4().hex
        self._unsettled = (token, sent)  # until Redis answers
        args = [self.prefix, self._max_actions, PER_TICKET_ACTIONS, encode(sent), token]
        reply = self._apply(keys=[], args=args)
        self._unsettled = None
        self.outage.went_through(self.log, self.location)  # Redis answered
        results, kept = iter(self._answered(sent, reply, what)), {id(op) for op in sent}
        return [next(results) if id(op) in kept else 0 for op in ops]

    def _settle(self) -> None:
        """Find out whether the last call whose answer was lost ran, before anything
        else is written. Why: a timeout can come after Redis ran the script (it was
        busy, the answer late), a dropped connection after it got it; the writer keeps
        what it meant to write and writes it again (``StoreError.unavailable``), so were
        it applied, the history entries would be appended twice and the records, their
        versions moved, refused as stale ("another replica owns it now") for good. A
        call that did not run is cancelled here, so it never will (:data:`.SETTLE`); one
        that did gives its reply: its versions become this store's, and its journal
        entries are left out of the writer's next writes. Raises the RedisError of a
        Redis still out of reach: nothing is written until it is known."""
        if self._unsettled is None:
            return
        token, ops = self._unsettled
        text = self._settle_call(keys=[], args=[self.prefix, token])
        self._unsettled = None
        reply = json.loads(text) if isinstance(text, str) else ["cancelled"]
        if reply[0] == "ok":
            self._replayed = [op[1] for op in ops if op[0] == "act"]
            self._answered(ops, reply, "a write whose answer was lost")

    def _was_replayed(self, op: list[Any]) -> bool:
        """Is ``op`` a journal entry a settled call already appended (:meth:`_settle`)?
        Each is left out once."""
        if op[0] != "act" or op[1] not in self._replayed:
            return False
        self._replayed.remove(op[1])
        return True

    def _answered(self, ops: list[list[Any]], reply: list[Any], what: str) -> list[Any]:
        """The script's reply to ``ops``: versions noted, a stale write raised."""
        if reply[0] == "stale":
            ticket, version = int(reply[1]), int(reply[2])
            self.refused.add(ticket)
            message = f"store {self.location}: writing {what} refused: " + _moved(ticket, version)
            self.log.error(message)
            raise StaleWrite(message)
        for op, result in zip(ops, reply[1:], strict=True):
            if op[0] == "rec":
                self._versions[int(op[1])] = int(result)
            elif op[0] == "delrec":
                self._versions.pop(int(op[1]), None)
        return list(reply[1:])


def _moved(ticket: int, version: int) -> str:
    """Why a record write was refused by version: a newer record, or none at all (the
    script reads version 0 for a record that does not exist)."""
    if version == 0:
        return (
            f"the record of ticket {ticket} is gone from the store since this replica read"
            " it (archived, let go or purged by another replica, or lost: Redis flushed)"
        )
    return (
        f"the record of ticket {ticket} is at version {version}, newer than this replica"
        " last saw (another replica owns it now)"
    )
