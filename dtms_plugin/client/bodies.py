"""What the client sends and what it makes of the answers: the bodies of a registration
and a close, the errors, and the result of one registration. Plain data, so the async
client, the sync one and the ``dtms`` operator verbs share one definition of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral, Real
from typing import Any, Literal

from .http import Reply

Outcome = Literal["registered", "already", "closed", "refused", "unreachable"]
#: The longest close reason the server keeps (docs/client.md, "Reporting a close").
MAX_REASON_CHARS = 64


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


def result_of(ticket: Any, reply: Reply) -> RegisterResult:
    """A registration's answer (one ``enable`` reply or one item of a batch)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    if closed_answer(reply):  # kept CLOSED: not defended any more
        why = reply.message if reply.status == 409 else ""
        why = why or "the server keeps this ticket's trade CLOSED: DTMS does not defend it"
        return RegisterResult(body.get("ticket", ticket), "closed", reply.status, why, body)
    if reply.ok:
        outcome: Outcome = "already" if body.get("already_registered") else "registered"
        return RegisterResult(body.get("ticket", ticket), outcome, reply.status, "", body)
    return RegisterResult(ticket, "refused", reply.status, reply.message, body)


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
    or "not defended", for a trade DTMS defends."""
    value = body.get(key)
    if value is None or not isinstance(value, kind):
        raise DtmsError(
            f"{url} answered without {key!r} ({str(body)[:80]}): is this URL a DTMS server?",
            None,
            body,
        )
    return value


def not_dtms(url: str, reply: Reply) -> DtmsError:
    """An answer that is not DTMS JSON (a web server's or a proxy's page): no DTMS server
    answers at ``url``. One line naming the URL, the HTTP status and what came back;
    its ``status`` is the HTTP status (docs/client.md, "What each call does")."""
    return DtmsError(
        f"not a DTMS server at {url} (HTTP {reply.status}, {reply.gist})", reply.status, reply.body
    )


def refusal(what: str, reply: Reply) -> DtmsError:
    """The server's refusal, with its status and body (a 400's ``field``: which value)."""
    return DtmsError(f"{what}: {reply.status} {reply.message}", reply.status, reply.body)
