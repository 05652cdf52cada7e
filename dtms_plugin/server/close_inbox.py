"""Closes reported to a replica that does not own the trade (docs/scaling.md).

Only the replica that holds a trade's lease may write its record: another one's write is
refused by the record's version as soon as the owner has written since (every bar, for
an armed trade), and a write that got through would bypass the owner's engine (its hedge
left open, its book still holding the trade). So a replica that receives
``POST /dtms/trade/{ticket}/closed`` for a trade another replica owns leaves the report
in Redis (one hash, ``closes``, field = ticket, the report as JSON) and waits for the
record to show it; the owner applies every report left for its trades at the start of
its next cycle, through its engine, as if it had received it, and removes it. A report
left twice (a client's retry) is the same report. An owner that dies first leaves the
report to the replica that takes the trade over.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from hookspecs import DefensiveState

from ..store import StoreError, StoreProtocol
from .closing import ClosedReport, check_close_time
from .errors import EngineUnavailable
from .replicas import Replicas
from .views import record_state

#: how long a replica that left a close waits for the owner to apply it before a 503
#: (the client retries; the report stays meanwhile)
APPLY_TIMEOUT = 20.0


def _key(replicas: Replicas) -> str:
    return replicas.store.prefix + "closes"


def owner_of(replicas: Replicas, ticket: int) -> str | None:
    """The replica that holds ``ticket``'s lease now (None: nobody)."""
    owner = replicas.store.client.get(f"{replicas.store.prefix}lease:{ticket}")
    return owner.decode() if isinstance(owner, bytes) else owner


def _as_json(report: ClosedReport) -> str:
    return json.dumps(
        {
            "ticket": report.ticket,
            "reason": report.reason,
            "profit": report.profit,
            "closed_at": report.closed_at.isoformat() if report.closed_at else None,
            "close_price": report.close_price,
        }
    )


def _from_json(text: str | bytes) -> ClosedReport:
    data = json.loads(text)
    closed_at = data.get("closed_at")
    return ClosedReport(
        ticket=int(data["ticket"]),
        reason=str(data["reason"]),
        profit=float(data["profit"]),
        closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
        close_price=data.get("close_price"),
    )


async def left_for_owner(replicas: Replicas, store: StoreProtocol, report: ClosedReport) -> bool:
    """When another replica owns the reported trade: leave the report for it and wait
    until the record shows it applied (True). False when this replica should apply it
    itself: it owns the trade, nobody does (a closed trade has no lease), the ticket is
    unknown, or the close is already recorded with its outcome. :class:`EngineUnavailable`
    (a 503: the client retries) when the owner has not applied it within
    :data:`APPLY_TIMEOUT`; the 409 of a close dated before the open, as here."""
    record = store.get_record(report.ticket)
    if record is None or _applied(record):
        return False
    check_close_time(record, report)
    if owner_of(replicas, report.ticket) in (None, replicas.id):
        return False
    client = replicas.store.client
    await asyncio.to_thread(client.hset, _key(replicas), str(report.ticket), _as_json(report))
    deadline = time.monotonic() + APPLY_TIMEOUT
    while not _applied(await asyncio.to_thread(store.get_record, report.ticket)):
        if time.monotonic() > deadline:
            raise EngineUnavailable(
                f"the close of ticket {report.ticket} was left for the replica that owns it"
                f" but not applied within {APPLY_TIMEOUT:.0f} s; it will be"
            )
        await asyncio.sleep(0.02)
    return True


def _applied(record: Mapping[str, Any] | None) -> bool:
    """The record is CLOSED with an outcome (a report's, or one already given)."""
    return (
        record is not None
        and record_state(record) == DefensiveState.CLOSED.value
        and record.get("realised_profit") is not None
    )


async def apply_left(replicas: Replicas, apply: Callable[[ClosedReport], Awaitable[Any]]) -> None:
    """At the start of a cycle, on the engine loop: apply the closes left for the
    trades this replica holds, then remove them. One that fails stays for the next
    cycle; one that cannot be read is logged and removed (it would fail every cycle)."""
    client = replicas.store.client
    for field, text in client.hgetall(_key(replicas)).items():
        ticket = int(field)
        if ticket not in replicas.held:
            continue
        try:
            report = _from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            replicas.log.error("DTMS: close left for ticket %s unreadable: %s", ticket, exc)
        else:
            try:
                await apply(report)
            except StoreError as exc:
                replicas.log.error(
                    "DTMS: close left for ticket %s not applied yet: %s", ticket, exc
                )
                continue
            replicas.log.info("DTMS %s: close left by another replica applied", ticket)
        client.hdel(_key(replicas), str(ticket))
