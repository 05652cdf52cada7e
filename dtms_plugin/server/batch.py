"""``POST /dtms/trades``: register many trades in one request (a client's outbox).

Each item gets its own outcome, in order: registered (201), already registered (200) or
refused (its 4xx and the error body ``POST /dtms/trade/enable`` would have answered), so
one bad trade never sinks the rest and a client retries only what it may retry. A failure
that is not the item's fault (the engine or the store is down) fails the whole request
with a 503, and the client sends the batch again: registration is idempotent by ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .middleware import client_error
from .service import DtmsService
from .validation import FieldError, parse_registration, show
from .views import registration_body

#: The most registrations one request may carry; a body stays well under the 64 KiB the
#: server accepts.
MAX_BATCH_REGISTRATIONS = 200


def batch_items(body: object) -> list[Any]:
    """``{"trades": [registration, ...]}``; a 400 names ``trades`` when it is not that."""
    trades = body.get("trades") if isinstance(body, Mapping) else None
    if not isinstance(trades, list) or not trades:
        raise FieldError(
            "trades", f"expected a non-empty list of registrations, got {show(trades)}"
        )
    if len(trades) > MAX_BATCH_REGISTRATIONS:
        raise FieldError(
            "trades", f"at most {MAX_BATCH_REGISTRATIONS} per request, got {len(trades)}"
        )
    return trades


async def register_many(service: DtmsService, items: list[Any]) -> dict[str, Any]:
    """The batch's answer: ``results`` in the request's order, and counts by outcome."""
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        ticket = item.get("ticket") if isinstance(item, Mapping) else None
        try:
            registration = parse_registration(item)
            created, registered = await service.register(registration)
        except Exception as exc:  # a 4xx of this item; anything else fails the request
            status, error = client_error(exc)
            results.append(
                {"index": index, "ticket": ticket, "outcome": "refused", "status": status,
                 **error, "success": False}
            )  # fmt: skip
            continue
        body = registration_body(registered, service.trade(registration.ticket))
        outcome = "registered" if created else "already_registered"
        results.append(
            {"index": index, "outcome": outcome, "status": 201 if created else 200, **body}
        )
    counts = {
        name: sum(1 for r in results if r["outcome"] == name)
        for name in ("registered", "already_registered", "refused")
    }
    return {"results": results, "counts": counts}
