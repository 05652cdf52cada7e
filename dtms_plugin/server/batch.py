"""``POST /dtms/trades``: register many trades in one request (a client's outbox).

Each item gets its own outcome, in order: registered (201, or 200 with ``[plugin.dtms]
created_status = 200``), already registered (200) or refused (its 4xx and the error
body ``POST /dtms/trade/enable`` would have answered), so one bad trade never sinks the
rest and a client retries only what it may retry. A failure
that is not the item's fault (the engine or the store is down) fails the whole request
with a 503, and the client sends the batch again: registration is idempotent by ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .comments import with_cut_note
from .limits import MAX_BATCH_REGISTRATIONS
from .middleware import client_error
from .registration_answers import answer
from .service import DtmsService
from .unknown_keys import with_ignored
from .validation import (
    FieldError,
    Registration,
    known_keys,
    parse_registration,
    show,
)
from .views import registration_body


def batch_items(body: object) -> list[Any]:
    """``{"trades": [registration, ...]}``; a 400 names ``trades`` when it is not that."""
    if isinstance(body, list):
        raise FieldError(
            "trades", 'expected a JSON object {"trades": [registration, ...]}, got an array'
        )
    trades = body.get("trades") if isinstance(body, Mapping) else None
    if not isinstance(trades, list) or not trades:
        got = "an empty list" if trades == [] else show(trades)
        raise FieldError("trades", f"expected a non-empty list of registrations, got {got}")
    if len(trades) > MAX_BATCH_REGISTRATIONS:
        raise FieldError(
            "trades", f"at most {MAX_BATCH_REGISTRATIONS} per request, got {len(trades)}"
        )
    return trades


async def register_many(service: DtmsService, items: list[Any]) -> dict[str, Any]:
    """The batch's answer: ``results`` in the request's order, and counts by outcome.
    Every readable registration goes to the service at once (one engine round trip, one
    store transaction); a malformed one is refused on its own."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    parsed: list[tuple[int, Registration]] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, parse_registration(item, f"trades[{index}]")))
        except Exception as exc:  # a 4xx of this item; anything else fails the request
            results[index] = _refused(index, item, exc)
    outcomes = await service.register_many([reg for _, reg in parsed])
    defensive = service.account_defensive()
    for (index, reg), outcome in zip(parsed, outcomes, strict=True):
        if isinstance(outcome, Exception):
            results[index] = _refused(index, items[index], outcome)
            continue
        created, record = outcome
        view = service.view(reg.ticket, record, defensive)
        body = registration_body(answer(reg.ticket, created, record, reg), view)
        body = with_ignored(body, items[index], known_keys(reg))
        body = with_cut_note(body, items[index])
        outcome_name = "registered" if created else "already_registered"
        status = service.settings.dtms.created_status if created else 200  # as one enable's
        results[index] = {"index": index, "outcome": outcome_name, "status": status, **body}
    done = [r for r in results if r is not None]
    counts = {
        name: sum(1 for r in done if r["outcome"] == name)
        for name in ("registered", "already_registered", "refused")
    }
    return {"results": done, "counts": counts}


def _refused(index: int, item: object, exc: Exception) -> dict[str, Any]:
    ticket = item.get("ticket") if isinstance(item, Mapping) else None
    if isinstance(ticket, bool) or not isinstance(ticket, int | str):
        ticket = None  # only what the document allows is echoed: a client parses it
    status, error = client_error(exc)
    return {"index": index, "ticket": ticket, "outcome": "refused", "status": status,
            **error, "success": False}  # fmt: skip
