"""``register_many``'s requests: ``POST /dtms/trades`` in chunks the server takes, one
attempt each. Its own module because it is a policy of its own (chunking, halving a
chunk the server finds too large, reading one outcome per item), used only there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .bodies import (
    DtmsClientUnusable,
    DtmsError,
    DtmsUnreachable,
    Outcome,
    RegisterResult,
    result_of,
)
from .http import Reply

#: The most registrations the server takes in one ``POST /dtms/trades``.
BATCH_LIMIT = 200

#: The client's ``call``: one request, no answer raised as :class:`DtmsUnreachable`.
Call = Callable[..., Awaitable[Reply]]


async def register_batches(
    call: Call, bodies: list[dict[str, Any]], timeout: float, url: str
) -> list[RegisterResult]:
    """One result per registration body, in order (``url``: the batch route's, named in
    a result the answer does not make a registration). A chunk without an answer makes
    its trades ``unreachable`` (retrying is the caller's: the remote strategy's outbox)."""
    results: list[RegisterResult] = []
    for start in range(0, len(bodies), BATCH_LIMIT):
        chunk = bodies[start : start + BATCH_LIMIT]
        results.extend(await _split(call, chunk, timeout, url))
    return results


async def _split(
    call: Call, chunk: list[dict[str, Any]], timeout: float, url: str
) -> list[RegisterResult]:
    """One chunk; one the server finds too large (413: long comments) goes again in
    halves, down to single trades, each of which the server judges on its own."""
    results = await _chunk(call, chunk, timeout, url)
    if len(chunk) > 1 and all(r.status == 413 for r in results):
        half = len(chunk) // 2
        return [
            *await _split(call, chunk[:half], timeout, url),
            *await _split(call, chunk[half:], timeout, url),
        ]
    return results


async def _chunk(
    call: Call, chunk: list[dict[str, Any]], timeout: float, url: str
) -> list[RegisterResult]:
    try:
        reply = await call("POST", "/dtms/trades", json_body={"trades": chunk}, timeout=timeout)
    except DtmsUnreachable as exc:
        return [RegisterResult(b.get("ticket"), "unreachable", None, str(exc)) for b in chunk]
    except DtmsClientUnusable:
        raise  # this program's mistake, not the server's answer
    except DtmsError as exc:  # no DTMS server at the URL
        return [RegisterResult(b.get("ticket"), "refused", exc.status, str(exc)) for b in chunk]
    items = reply.body.get("results") if isinstance(reply.body, dict) else None
    if not reply.ok or not isinstance(items, list) or len(items) != len(chunk):
        outcome: Outcome = "unreachable" if reply.transient else "refused"
        return [
            RegisterResult(b.get("ticket"), outcome, reply.status, reply.message, reply.body)
            for b in chunk
        ]
    return [_item(b.get("ticket"), item, url) for b, item in zip(chunk, items, strict=True)]


def _item(ticket: Any, item: Any, url: str) -> RegisterResult:
    """One item of a batch's ``results``: judged as one registration's answer, with the
    item's own ``status``; an item without one (no DTMS server's) is ``refused``."""
    status = item.get("status") if isinstance(item, dict) else None
    if not isinstance(status, int) or isinstance(status, bool):
        said = f"{url} answered a result without its status ({str(item)[:80]})"
        return RegisterResult(ticket, "refused", None, said, item)
    return result_of(ticket, Reply(status, item, ""), url)
