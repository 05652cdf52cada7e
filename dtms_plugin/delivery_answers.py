"""What one answer of the DTMS server means for an outbox entry (sent by
:mod:`dtms_plugin.http_client`): delivered, dropped, kept for the next cycle, tried again
now, or final without success, with what is said in the log and at which level.

Kept apart from the sending and its retries: the verdicts are one table of status codes
and DTMS answers (a 409 of a trade kept CLOSED, a 404 of a trade the server does not
keep, a 2xx saying it failed), read the same for a single delivery and for each
registration of a batch.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from .client.bodies import closed_answer, said_failed, unregistered_answer
from .client.http import TRANSIENT_STATUSES, Reply

#: 4xx answers that indict our configuration (token, URL), not the registration: kept.
CONFIG_STATUSES = frozenset({401, 403, 404, 405})

#: What became of one outbox entry: delivered/dropped leave the outbox; pending stays
#: (this entry's problem); ``busy``: every try answered with a transient refusal (a 503
#: from a replica that cannot take this one entry); ``down``: no answer (both stay, and
#: end the pass); ``unknown``: a close answered 404 (no record of the trade), final but
#: counted; ``unregistered``: a registration answered 409 ``trade unregistered``, final
Outcome = Literal["delivered", "dropped", "pending", "busy", "down", "unknown", "unregistered"]


def attempt_level(quiet: bool, attempt: int) -> int:
    """A failed attempt is a WARNING when it is the first, so the trouble shows at once;
    its retries are DEBUG (how they ended is said once, by the caller or the outcome), as
    is every attempt while the server is known not to answer (``quiet``)."""
    return logging.WARNING if attempt == 1 and not quiet else logging.DEBUG


def judge_item(
    kind: str,
    ticket: int,
    url: str,
    item: Any,
    log: logging.Logger,
    token_env: str,
    quiet: bool = False,
) -> Outcome:
    what = f"{kind} of ticket {ticket}"
    status = item.get("status") if isinstance(item, dict) else None
    if not isinstance(status, int):
        log.log(
            logging.DEBUG if quiet else logging.ERROR,
            "DTMS %s: malformed result %r from %s", what, item, url,
        )  # fmt: skip
        return "pending"
    reply = Reply(status, item, "")
    return judge(kind, what, url, reply, 1, 1, log, token_env, quiet) or "pending"


def _no_such_trade(reply: Reply) -> bool:
    """The server's own 404 for a ticket it keeps no trade of. Any other 404 is a path
    it does not have (a proxy's prefix, a typo in ``api_url``): a configuration problem,
    the entry kept, not a close given up as "unknown to the server"."""
    return isinstance(reply.body, dict) and reply.body.get("error") == "trade not found"


def judge(
    kind: str,
    what: str,
    url: str,
    reply: Reply,
    attempt: int,
    attempts: int,
    log: logging.Logger,
    token_env: str,
    quiet: bool = False,
) -> Outcome | None:
    """What one answer means; ``None``: transient, try again. ``what`` names the entry or
    entries in the log (``register of ticket 7``, ``registration of tickets 7, 8``: a
    refused batch names its tickets, not its first one's). ``quiet``: the server is
    known not to take this host's requests (a refusal said once, not per entry)."""
    status = reply.status
    if reply.ok and not isinstance(reply.body, dict):
        # a proxy's default page, another site at api_url: a 200 that is no DTMS answer
        # (every DTMS answer is a JSON object) delivers nothing; kept, as for a 404
        log.log(
            logging.DEBUG if quiet else logging.ERROR,
            "DTMS %s: %s answered %d without a DTMS JSON object (%r): is api_url a DTMS "
            "server? kept in the outbox",
            what, url, status, reply.text[:80],
        )  # fmt: skip
        return "down"
    if reply.ok and said_failed(reply.body):
        # a 2xx saying it failed ({"success": false, "error": "database is locked"}):
        # nothing was done, so nothing is delivered; tried again as a busy server is
        # (the public client refuses such an answer too: docs/client.md)
        log.log(
            attempt_level(quiet, attempt),
            "DTMS %s: %s answered %d with success false (attempt %d/%d): %s",
            what, url, status, attempt, attempts, reply.message,
        )  # fmt: skip
        return None
    if kind == "register" and closed_answer(reply):
        # the server keeps this trade CLOSED (it saw the position go, or a retry came
        # after the close): final, and nothing is wrong; the refresh reads it CLOSED
        why = reply.message if reply.status == 409 else "kept CLOSED by the server"
        log.info("DTMS %s: %s; not sent again", what, why)
        return "delivered"
    if kind == "register" and unregistered_answer(reply):  # an operator's DELETE stands
        log.info("DTMS %s: %s; left alone, not asked about again", what, reply.message)
        return "unregistered"
    if kind == "closed" and status == 404 and _no_such_trade(reply):
        # final (sending it again changes nothing), but no success: the server's store
        # lost the trade (a Redis restarted empty), or its registration never reached it
        log.warning(
            "DTMS %s: %s answered 404: the server has no record of this "
            "trade (its store lost it, or it was never registered there), so its close is "
            "kept nowhere on the server; not sent again",
            what, url,
        )  # fmt: skip
        return "unknown"
    if reply.ok or (kind == "unregister" and status == 404 and _no_such_trade(reply)):
        if attempt > 1:
            log.info("DTMS %s succeeded on attempt %d", what, attempt)
        return "delivered"
    if status in TRANSIENT_STATUSES:
        log.log(
            attempt_level(quiet, attempt),
            "DTMS %s: %s answered %d (attempt %d/%d): %s",
            what, url, status, attempt, attempts, reply.message,
        )  # fmt: skip
        return None
    if status in CONFIG_STATUSES:
        log.log(
            logging.DEBUG if quiet else logging.ERROR,
            "DTMS %s: %s answered %d: %s; check api_url and the %s token;"
            " kept in the outbox",
            what, url, status, reply.message, token_env,
        )  # fmt: skip
        return "down"
    if 400 <= status < 500:
        log.error(
            "DTMS %s rejected by %s with %d: %s; dropped from the outbox"
            " as undeliverable",
            what, url, status, reply.message,
        )  # fmt: skip
        return "dropped"
    log.log(
        logging.DEBUG if quiet else logging.ERROR,
        "DTMS %s: %s answered %d: %s; kept in the outbox for the next cycle"
        " (said again when it is delivered)",
        what, url, status, reply.message,
    )  # fmt: skip
    return "pending"
