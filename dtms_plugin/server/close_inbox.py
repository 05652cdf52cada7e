"""Closes reported to a replica that does not own the trade (docs/scaling.md).

Only the replica that holds a trade's lease may write its record: another one's write is
refused by the record's version as soon as the owner has written since (every bar, for
an armed trade), and a write that got through would bypass the owner's engine (its hedge
left open, its book still holding the trade). So a replica that receives
``POST /dtms/trade/{ticket}/closed`` for a trade another replica owns leaves the report
in Redis (one hash, ``closes``, field = ticket, the report as JSON) and answers at once,
202: the owner applies every report left for its trades at the start of its next cycle,
through its engine, as if it had received it, and removes it. Waiting for that would
outlast the clients' timeouts (a cycle is 5 s by default). A report left twice (a
client's retry) is the same report; one left for a trade that has no owner any more is
applied by whichever replica takes it, or by the next one reported to.

What was left comes first, as on one server, where it was applied before anything sent
after it: the replica about to act on a ticket at a client's request (a close or a
DELETE reported to the owner, a registration of the ticket) applies what waits for it
first (:meth:`LeftCloses.settle`), so the first report left stands. Each entry names the
trade it was left for (its opening time): a broker hands tickets out again, and a close
left for a ticket's earlier trade must never close the one registered since.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from ..store import StoreError, StoreProtocol
from .closing import ClosedReport, check_close_time, has_outcome, opening_time
from .replicas import Replicas

log = logging.getLogger("dtms_plugin.server.replicas")


def _key(replicas: Replicas) -> str:
    return replicas.store.prefix + "closes"


def _redis(what: str, call: Callable[[], Any]) -> Any:
    """A Redis call whose failure is a :class:`StoreError` (a 503, or a cycle's error
    line), never a raw client error."""
    try:
        return call()
    except redis.RedisError as exc:
        raise StoreError(f"closes left for other replicas: {what} failed: {exc}") from exc


#: what an entry asks the owner for: its close applied, or the trade let go (DELETE)
UNREGISTER = "unregister"


class LeftFirst(Exception):
    """A registration of a ticket whose trade has a close or DELETE left for its owner.
    One server applied that before the registration arrived, and answered it from the
    closed record (a new position: registered; the same one: "trade closed"), so the
    registration is decided once the owner applied it (replica_service). Answered from
    the open record, it was "already registered", and the close then closed the new
    position."""


@dataclass(frozen=True, slots=True)
class Left:
    """What a replica left for a trade's owner, and for which trade of the ticket."""

    report: ClosedReport | None  # None: an unregistration (DELETE)
    #: the opening of the trade it was left for; None when its record gave none, or
    #: when a replica that did not say left it
    opened_at: datetime | None

    def is_for(self, record: dict[str, Any]) -> bool:
        """Left for the trade ``record`` holds, not for an earlier one of its ticket."""
        opened = opening_time(record)
        return self.opened_at is None or opened is None or opened == self.opened_at


def _as_json(report: ClosedReport | None, ticket: int, record: dict[str, Any]) -> str:
    opened = opening_time(record)
    trade = {"opened_at": opened.isoformat() if opened else None}
    if report is None:
        return json.dumps({"kind": UNREGISTER, "ticket": ticket, **trade})
    return json.dumps(
        {
            "kind": "closed",
            "ticket": report.ticket,
            "reason": report.reason,
            "profit": report.profit,
            "closed_at": report.closed_at.isoformat() if report.closed_at else None,
            "close_price": report.close_price,
            **trade,
        }
    )


def _from_json(text: str | bytes) -> Left:
    """What an entry asks for, and for which trade."""
    data = json.loads(text)
    opened = data.get("opened_at")
    opened_at = datetime.fromisoformat(opened) if opened else None
    if data.get("kind") == UNREGISTER:
        return Left(None, opened_at)
    closed_at = data.get("closed_at")
    report = ClosedReport(
        ticket=int(data["ticket"]),
        reason=str(data["reason"]),
        profit=float(data["profit"]),
        closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
        close_price=data.get("close_price"),
    )
    return Left(report, opened_at)


def _owned_elsewhere(replicas: Replicas, ticket: int) -> bool:
    """Another live replica holds ``ticket``'s lease."""
    lease = f"{replicas.store.prefix}lease:{ticket}"
    owner = _redis("reading the lease", lambda: replicas.store.client.get(lease))
    owner = owner.decode() if isinstance(owner, bytes) else owner
    return owner not in (None, replicas.id)


def _leave(replicas: Replicas, ticket: int, text: str) -> None:
    """The first request left for a ticket stands (a client's retry, or a second report,
    changes nothing), as a close reported twice to one server keeps the first."""
    client = replicas.store.client
    _redis("leaving one", lambda: client.hsetnx(_key(replicas), str(ticket), text))


def left_for_owner(replicas: Replicas, store: StoreProtocol, report: ClosedReport) -> bool:
    """When another replica owns the reported trade: leave the report for it (True).
    False when this replica applies it itself: it owns the trade, nobody does (a
    closed trade has no lease), the ticket is unknown, or the close is already recorded
    with its outcome. A report left before for it is then applied first (the caller's
    :meth:`LeftCloses.settle`): taken back, the second report was kept instead of the
    first. The 409 of a close dated before the open, as when applied here, for a trade
    left for another replica; one this replica applies itself is checked where it is
    applied, which asks the broker when the kept opening is the wrong one
    (:meth:`.closes.Closing._opening_from_broker`): checked here first, a Redis store's
    server refused that close even with a single replica."""
    record = store.get_record(report.ticket)
    if record is None or has_outcome(record):
        return False
    if not _owned_elsewhere(replicas, report.ticket):
        return False
    check_close_time(record, report)
    _leave(replicas, report.ticket, _as_json(report, report.ticket, record))
    return True


def unregistration_left(replicas: Replicas, ticket: int, record: dict[str, Any]) -> bool:
    """``DELETE`` of the trade ``record`` holds: when another replica owns it, leave it
    the unregistration (True); written here, the owner wrote the trade back at its next
    cycle and went on acting."""
    if not _owned_elsewhere(replicas, ticket):
        return False
    _leave(replicas, ticket, _as_json(None, ticket, record))
    return True


def _waiting(replicas: Replicas, ticket: int) -> str | bytes | None:
    """The entry left for ``ticket``'s owner, as stored; ``None`` when none waits."""
    text: str | bytes | None = _redis(
        "reading one", lambda: replicas.store.client.hget(_key(replicas), str(ticket))
    )
    return text


def waits_for(replicas: Replicas, ticket: int, record: dict[str, Any]) -> bool:
    """Something left for the trade ``record`` holds waits for its owner: a close or a
    DELETE one server would have applied before a request sent after it."""
    text = _waiting(replicas, ticket)
    if text is None:
        return False
    try:
        return _from_json(text).is_for(record)
    except (ValueError, KeyError, TypeError):
        return False  # unreadable: dropped at the owner's next cycle


class LeftCloses:
    """The owner's side, at the start of each cycle on the engine loop: apply the closes
    left for the trades it holds and remove them; drop those no replica will apply (the
    trade is gone, its record has its outcome already, or it holds a later trade of the
    ticket). A report that fails is kept for the next cycle and said once per episode,
    with the count when it ends; the cycle goes on either way. And before a request
    sent after it, on the engine loop too: :meth:`settle`."""

    def __init__(self) -> None:
        self._failing: dict[int, int] = {}  # ticket -> cycles its report failed in a row
        self._unreadable = False  # in an episode of the hash being unreadable

    async def apply(
        self,
        replicas: Replicas,
        store: StoreProtocol,
        apply: Callable[[ClosedReport], Awaitable[Any]],
        unregister: Callable[[int], Awaitable[Any]],
    ) -> None:
        if not replicas.held:  # nothing of its own (Redis away: nothing held either)
            return
        client, key = replicas.store.client, _key(replicas)
        try:
            left = _redis("reading them", lambda: client.hgetall(key))
            for field, text in left.items():
                ticket = int(field)
                here = ticket in replicas.held
                await self._one(replicas, store, apply, unregister, ticket, text, here=here)
        except StoreError as exc:
            if not self._unreadable:
                log.error("DTMS: %s (said once until they can be read)", exc)
            self._unreadable = True
            return
        self._unreadable = False

    async def settle(
        self,
        replicas: Replicas,
        store: StoreProtocol,
        apply: Callable[[ClosedReport], Awaitable[Any]],
        unregister: Callable[[int], Awaitable[Any]],
        ticket: int,
    ) -> bool:
        """Before this replica acts on ``ticket`` at a client's request (it owns the
        trade, or nobody does): what another replica left for the trade is applied
        first, as the owner's next cycle would have, so the first report left stands
        (docs/scaling.md §5). True when nothing waits any more; False when applying it
        failed: kept, and said, as in a cycle."""
        text = _waiting(replicas, ticket)
        if text is None:
            return True
        return await self._one(replicas, store, apply, unregister, ticket, text, here=True)

    def _drop(self, replicas: Replicas, ticket: int) -> bool:
        """Remove the entry of ``ticket`` no replica will apply; a failure episode of it
        ends here, with its closing line (it is no longer retried). True: it waits no more."""
        client, key = replicas.store.client, _key(replicas)
        _redis("dropping one", lambda: client.hdel(key, str(ticket)))
        failed = self._failing.pop(ticket, 0)
        if failed:
            log.info(
                "DTMS %s: left by another replica, no longer retried after %d failed cycles:"
                " dropped",
                ticket,
                failed,
            )
        return True

    async def _one(
        self,
        replicas: Replicas,
        store: StoreProtocol,
        apply: Callable[[ClosedReport], Awaitable[Any]],
        unregister: Callable[[int], Awaitable[Any]],
        ticket: int,
        text: str | bytes,
        *,
        here: bool,
    ) -> bool:
        """One entry, applied when ``here`` (this replica applies the ticket's); True
        when it waits no more (applied, or dropped)."""
        client, key = replicas.store.client, _key(replicas)
        try:
            left = _from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("DTMS %s: close left by another replica unreadable, dropped: %s", ticket, exc)
            return self._drop(replicas, ticket)
        report = left.report
        record = store.get_record(ticket)
        if record is None or (report is not None and has_outcome(record)):  # gone, or done
            return self._drop(replicas, ticket)
        if not left.is_for(record):  # its trade was closed, and the ticket registered since
            log.info(
                "DTMS %s: close left for an earlier trade of the ticket (opened %s) dropped:"
                " it now holds the trade opened %s",
                ticket,
                left.opened_at,
                opening_time(record),
            )
            return self._drop(replicas, ticket)
        if not here:
            return False
        try:
            await (unregister(ticket) if report is None else apply(report))
        except Exception as exc:  # the engine's, the broker's: the cycle goes on
            failed = self._failing[ticket] = self._failing.get(ticket, 0) + 1
            if failed == 1:
                log.error(
                    "DTMS %s: close left by another replica not applied, retried each cycle: %r",
                    ticket,
                    exc,
                )
            return False
        _redis("removing one", lambda: client.hdel(key, str(ticket)))
        failed = self._failing.pop(ticket, 0)
        log.info(
            "DTMS %s: %s left by another replica applied%s",
            ticket,
            "unregistration" if report is None else "close",
            f" after {failed} failed cycles" if failed else "",
        )
        return True
