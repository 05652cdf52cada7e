"""What the client sends and what it makes of the answers: the bodies of a registration
and a close, the errors, and the result of one registration. Plain data, so the async
client, the sync one and the ``dtms`` operator verbs share one definition of each.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral, Real
from typing import Any, Literal

from .http import (
    BAD_URL_ERRORS,
    TLS_ERRORS,
    TRANSIENT_ERRORS,
    AnswerTooLarge,
    Reply,
    describe,
    no_answer,
)

Outcome = Literal["registered", "already", "closed", "refused", "unreachable"]
#: The longest close reason the server keeps (docs/client.md, "Reporting a close").
MAX_REASON_CHARS = 64

log = logging.getLogger("dtms_plugin.client")


class DtmsError(Exception):
    """The server answered something this call cannot use (its status and message)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class DtmsUnreachable(DtmsError):
    """No answer: the server is not running at the URL, or it did not answer in time."""


class DtmsClientUnusable(DtmsError, RuntimeError):
    """This client cannot make calls here: it was closed, it was made before a ``fork``
    (its loop thread stayed in the parent), or it is bound to another event loop. A
    :class:`DtmsError`, so ``except DtmsError`` catches every failure of a call, and a
    ``RuntimeError``, as these were before (docs/client.md)."""


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """What became of one registration. ``registered``/``already``: DTMS defends the
    trade; ``closed``: the server keeps this ticket's trade CLOSED, with the same entry,
    so DTMS no longer defends it (a new position needs its own opening time or ticket);
    ``refused``: the server said no (``status``, ``message``: why); ``unreachable``: no
    answer after the retries."""

    ticket: Any
    outcome: Outcome
    status: int | None = None
    message: str = ""
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("registered", "already")


def registration(trade: Any) -> dict[str, Any]:
    """The ``POST /dtms/trade/enable`` body of a :class:`hookspecs.Trade` (with its
    ``magic`` and ``comment``), a dataclass with the same fields, or a mapping (sent as
    given, its datetimes as ISO 8601 text and its decimals as numbers: JSON has
    neither)."""
    if isinstance(trade, Mapping):
        return {_key(key): _plain(value, str(key)) for key, value in trade.items()}
    fields = asdict(trade) if is_dataclass(trade) and not isinstance(trade, type) else {}
    if not fields:
        raise TypeError(f"register: expected a Trade or a mapping, got {type(trade).__name__}")
    body = {
        "ticket": fields["ticket"],
        "symbol": fields["symbol"],
        "direction": fields["direction"],
        "entry": fields.get("entry_price", fields.get("entry")),
        "volume": fields["volume"],
        "stop_loss": fields.get("stop_loss"),
        "take_profit": fields.get("take_profit"),
    }
    for key in ("magic", "comment"):  # the server keeps them with the trade (its record)
        if key in fields:
            body[key] = fields[key]
    opened = fields.get("opened_at")
    if isinstance(opened, datetime):
        body["opened_at"] = opened.isoformat()
    return body


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"register: a key must be text, got {key!r}")
    return key


def _plain(value: Any, field: str) -> Any:
    """``value`` as JSON can carry it; else a TypeError naming ``field``, here rather
    than one from deep inside aiohttp's encoder that names no field."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()  # a naive one is refused by the server, naming the field
    if isinstance(value, date):
        raise TypeError(
            f"{field}: a date without a time of day ({value.isoformat()}); pass an aware "
            "datetime, or ISO 8601 text with its offset"
        )
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Integral):  # numpy's integers, say
        return int(value)
    if isinstance(value, Real):  # numpy's floats, a Fraction
        return float(value)
    if isinstance(value, Mapping):
        return {_key(k): _plain(v, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{field}[{i}]") for i, v in enumerate(value)]
    kind = type(value).__name__
    raise TypeError(f"{field}: a value of type {kind} cannot be sent as JSON ({value!r:.60})")


def closed_body(
    reason: str, profit: float, closed_at: datetime | str | None, close_price: float | None
) -> dict[str, Any]:
    """The ``POST /dtms/trade/{ticket}/closed`` body. ``closed_at``: a datetime with its
    offset, or ISO 8601 text (the server checks either). A ``reason`` the server would
    refuse is refused here, before anything is sent: its 400 would leave the close
    unrecorded, and cutting the text short would change what the history says."""
    if not isinstance(reason, str):
        raise TypeError(f"reason: expected text, got {type(reason).__name__}")
    if not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise ValueError(
            f"reason: expected 1 to {MAX_REASON_CHARS} characters, not all spaces, got "
            f"{len(reason)}: {reason[:80]!r}"
        )
    body: dict[str, Any] = {"reason": reason, "profit": _plain(profit, "profit")}
    if isinstance(closed_at, datetime | str):
        body["closed_at"] = _plain(closed_at, "closed_at")
    elif closed_at is not None:
        raise TypeError(
            f"closed_at: expected a datetime or ISO 8601 text, got {type(closed_at).__name__}"
        )
    if close_price is not None:
        body["close_price"] = _plain(close_price, "close_price")
    return body


def closed_answer(reply: Reply) -> bool:
    """The server keeps the registration's trade CLOSED: its 409 ``trade closed`` (or, from
    a server before that answer, a success whose ``state`` is CLOSED). Final: sending the
    same registration again gets the same answer."""
    body = reply.body if isinstance(reply.body, dict) else {}
    if reply.status == 409:
        return body.get("error") == "trade closed"
    return reply.ok and body.get("state") == "CLOSED"


def unregistered_answer(reply: Reply) -> bool:
    """The server's 409 ``trade unregistered``: an operator unregistered the position
    this automatic registration names. Final: the host leaves it alone."""
    body = reply.body if isinstance(reply.body, dict) else {}
    return reply.status == 409 and body.get("error") == "trade unregistered"


def result_of(ticket: Any, reply: Reply, url: str) -> RegisterResult:
    """A registration's answer (one ``enable`` reply or one item of a batch, from
    ``url``). A 2xx is a registration only with ``success`` true and the ``trade_info``
    every DTMS server sends with one (the original's clients test both): another
    service's 200, or a server's ``success: false`` (a store that could not write), is
    ``refused``, never ``registered`` over a trade nothing defends."""
    body = reply.body if isinstance(reply.body, dict) else {}
    if reply.ok and (unmet := unconfirmed(body, "trade_info", dict)):
        return RegisterResult(ticket, "refused", reply.status, f"{url} {unmet}", body)
    if closed_answer(reply):  # kept CLOSED: not defended any more
        why = reply.message if reply.status == 409 else ""
        why = why or "the server keeps this ticket's trade CLOSED: DTMS does not defend it"
        return RegisterResult(body.get("ticket", ticket), "closed", reply.status, why, body)
    if reply.ok:
        outcome: Outcome = "already" if body.get("already_registered") else "registered"
        # what the server kept otherwise than sent: a repeat's values, a comment cut
        said = "; ".join(filter(None, (kept_instead(body), *server_warnings(body))))
        if said:
            log.warning("DTMS ticket %s: %s", body.get("ticket", ticket), said)
        return RegisterResult(body.get("ticket", ticket), outcome, reply.status, said, body)
    return RegisterResult(ticket, "refused", reply.status, reply.message, body)


def kept_instead(body: Mapping[str, Any], already: str = "already registered") -> str:
    """The fields a registration of a ticket already registered (or a report of a close
    already kept: ``already``, "already closed") sent otherwise than the server keeps
    (its answer's ``not_applied``), in words; "" when there are none. The server keeps
    what it had: a second registration with another volume was ``already``, ``ok`` and
    silent, and the program went on believing DTMS defended 0.3 lot, not 0.1."""
    differ = body.get("not_applied")
    if not isinstance(differ, Mapping) or not differ:
        return ""
    parts = []
    for field, values in differ.items():
        if isinstance(values, Mapping):
            parts.append(f"{field} {values.get('kept')!r} (sent {values.get('sent')!r})")
        else:
            parts.append(str(field))
    return f"{already}: the server keeps its " + ", ".join(parts) + ", not what was sent"


def server_warnings(body: Mapping[str, Any]) -> list[str]:
    """A registration answer's ``warnings``: what the server kept otherwise than sent,
    in its words (a comment cut to its limit, docs/client.md)."""
    warned = body.get("warnings")
    return [w for w in warned if isinstance(w, str)] if isinstance(warned, list) else []


def ticket_unknown(url: str, reply: Reply) -> bool:
    """True for the server's own 404 ``trade not found``: it keeps no trade of that
    ticket. Any other 404 is a path the server does not have (a proxy's prefix, a typo
    in the URL) and raises: read as "not managed", it would let a program touch a
    defended trade and lose its closes (docs/client.md)."""
    if reply.status != 404:
        return False
    if isinstance(reply.body, dict) and reply.body.get("error") == "trade not found":
        return True
    raise DtmsError(
        f"{url} answered 404 without the DTMS server's 'trade not found' "
        f"({reply.text[:80]!r}): is this URL a DTMS server?",
        404,
        reply.body,
    )


def part_of(url: str, body: dict[str, Any], key: str, kind: type) -> Any:
    """``body[key]`` when it is a ``kind``: a JSON answer without it is no DTMS server's
    (a proxy's or another service's), and reading it as empty would say "nothing kept",
    or "not defended", for a trade DTMS defends. A ``success: false`` is never read as a
    success (:func:`unconfirmed`)."""
    if said_failed(body):
        raise DtmsError(f"{url} {_failed(body)}", None, body)
    value = body.get(key)
    if value is None or not isinstance(value, kind):
        raise DtmsError(
            f"{url} answered without {key!r} ({str(body)[:80]}): is this URL a DTMS server?",
            None,
            body,
        )
    return value


def confirmed(url: str, reply: Reply, key: str | None, kind: type = object) -> dict[str, Any]:
    """A 2xx answer's body, when it is a success: ``success`` true and ``body[key]`` a
    ``kind`` (``key`` None: ``success`` alone); else a :class:`DtmsError` naming ``url``
    with the HTTP status. For the
    answers every DTMS server carries ``success`` in (a registration, a close, an
    unregistration, one trade: dtms serve's, a trading host's and the original's);
    ``/dtms/trades``, ``/dtms/status`` and ``/dtms/actions`` are read by the fields they
    carry (:func:`part_of`), which refuses only a false ``success``."""
    body = reply.body if isinstance(reply.body, dict) else {}
    unmet = unconfirmed(body, key, kind)
    if unmet:
        raise DtmsError(f"{url} {unmet}", reply.status, reply.body)
    return body


def unconfirmed(body: dict[str, Any], key: str | None, kind: type = object) -> str:
    """Why a 2xx ``body`` is no success of a call that needs ``body[key]`` (a ``kind``),
    or "". A ``success: false`` is the server saying it did not do it ("database is
    locked"), whatever the status; no ``success: true`` at all, or no ``key``, is no
    DTMS server's answer (another service's JSON, a redirect's landing page)."""
    if said_failed(body):
        return _failed(body)
    said = body.get("success")
    if said is not True or (key is not None and not isinstance(body.get(key), kind)):
        missing = "'success' true" if said is not True else repr(key)
        return f"answered without {missing} ({str(body)[:80]}): is this URL a DTMS server?"
    return ""


def said_failed(body: Mapping[str, Any]) -> bool:
    """Whether a ``body`` says the server did not do it (``success: false``, "database
    is locked"), whatever its HTTP status: never read as a success, by the public client
    nor by the remote strategy's outbox."""
    return body.get("success") is False


def _failed(body: dict[str, Any]) -> str:
    """An answer's ``success: false``, with the server's own words."""
    words = [str(body[k]) for k in ("error", "message") if body.get(k)]
    return "answered success false" + (f": {'; '.join(words)}" if words else "")


def by_ticket(url: str, entries: dict[str, Any], key: str = "trades") -> dict[int, Any]:
    """``entries`` (JSON's text keys) keyed by the integer ticket; a key that is no ticket
    is a :class:`DtmsError` naming ``url`` and the field (``key``), not a ValueError from
    ``int()`` that ``except DtmsError`` lets through."""
    return {ticket_in(url, k, key): entry for k, entry in entries.items()}


def ticket_in(url: str, value: Any, key: str) -> int:
    """``value`` as a ticket (an integer, or its digits as text), read from the answer's
    field ``key``; else a :class:`DtmsError` naming ``url`` and ``key``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise DtmsError(
        f"{url} answered {key!r} with {value!r:.40}, which is no ticket: is this URL a DTMS server?"
    )


def not_dtms(url: str, reply: Reply) -> DtmsError:
    """An answer that is not DTMS JSON (a web server's or a proxy's page): no DTMS server
    answers at ``url``. One line naming the URL, the HTTP status and what came back;
    its ``status`` is the HTTP status (docs/client.md, "What each call does"). A redirect
    names where it points: no DTMS server redirects its client's paths, and following one
    took a landing page's 200 for a registration done."""
    said = f", {reply.gist}"
    if 300 <= reply.status < 400:
        said = f" to {reply.location}" if reply.location else " without a Location"
    message = f"not a DTMS server at {url} (HTTP {reply.status}{said})"
    return DtmsError(message, reply.status, reply.body)


def failure(exc: BaseException, base: str, method: str, path: str, seconds: float) -> DtmsError:
    """What a request to the server at ``base`` that raised ``exc`` (one of
    ``http.REQUEST_ERRORS``) means, as the client's own error: no call raises aiohttp's
    (docs/client.md: ``except DtmsError`` catches every failure of a call). No answer
    (``seconds``: the call's bound) is :class:`DtmsUnreachable`; a URL no request can
    use, a TLS handshake that failed, an answer too long or one aiohttp could not parse
    are not a server that is down: a :class:`DtmsError`, never retried."""
    url = f"{base}{path}"
    if isinstance(exc, BAD_URL_ERRORS):
        return DtmsError(f"{base}: the request could not be made: {describe(exc)}")
    if isinstance(exc, TLS_ERRORS):  # ClientConnectionErrors too: before those
        return DtmsError(
            f"{base}: TLS with the server failed ({describe(exc)}): an https:// URL "
            "for a plain-HTTP server, or a certificate this machine does not trust?"
        )
    if isinstance(exc, AnswerTooLarge):  # a ClientPayloadError, but no server down
        return DtmsError(f"{exc}: is this URL a DTMS server?")
    if isinstance(exc, TimeoutError):
        return DtmsUnreachable(no_answer(base, method, path, seconds))
    if isinstance(exc, TRANSIENT_ERRORS):
        return DtmsUnreachable(f"DTMS server not running at {base} ({describe(exc)})")
    said = " ".join(describe(exc).split())  # aiohttp's parser errors span lines
    return DtmsError(f"{url}: the answer could not be read ({said})")


def refusal(what: str, reply: Reply) -> DtmsError:
    """The server's refusal, with its status and body (a 400's ``field``: which value)."""
    return DtmsError(f"{what}: {reply.status} {reply.message}", reply.status, reply.body)
