"""The service's own errors, each answered with its status by the middleware."""

from __future__ import annotations

from typing import Any


class EngineUnavailable(RuntimeError):
    """The engine is not running (starting, stopped or crashed): a 503."""


class RegistrationRejected(RuntimeError):
    """The engine declined a trade (it kept no record of it): a 422."""


class Conflict(RuntimeError):
    """A request that contradicts what the server keeps, the stored trade of its ticket
    or its clock: a 409 naming ``field`` (the request is well formed; the server's own
    record says otherwise)."""

    error = "conflict with the stored trade"

    def __init__(self, field: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.field = field
        #: more keys of the answer (a closed trade's close), beside error, field, message
        self.details = dict(details or {})


class RegistrationConflict(Conflict):
    """A registration that contradicts the live trade of the same ticket (another
    direction or symbol): never silently accepted."""

    error = "conflicting registration"


class CloseConflict(Conflict):
    """A close reported as before the trade opened (a clock or time-zone mistake): kept,
    it would also put the trade past its retention at once, history and all."""

    error = "conflicting close"


class PositionConflict(Conflict):
    """A registration that leaves its volume to the broker's position (0 or absent, as
    the original's clients send), and the broker has no such position: the engine needs
    a volume to close or hedge half of (docs/dtms.md §5), so it must be sent."""

    error = "conflict with the broker's position"


class ClockConflict(Conflict):
    """A time reported as more than a day ahead of the server's clock (a paper account's
    data clock, or a live server's wall clock: :func:`.validation.check_not_ahead`): a
    trade opened next year would never arm, one closed next year would outlive its
    retention, or date its loss into a day the daily-loss rail never reaches."""

    error = "conflict with the server's clock"


class TradeClosed(Conflict):
    """The trade of a registration is kept CLOSED (the same ticket, entry and opening):
    DTMS no longer manages it. Answered "already registered", a client written for the
    original DTMS would believe the trade defended; a new position needs another opening
    time, entry or ticket (docs/client.md, "Registering")."""

    error = "trade closed"


class TradeUnregistered(Conflict):
    """A trading host's automatic registration (``automatic: true``: re-registered from
    its broker's positions) of a position an operator unregistered: the host is told to
    leave it alone, or it undid every ``DELETE`` at its next refresh. A registration
    without ``automatic`` (a person's, a program's) manages it again."""

    error = "trade unregistered"


def error_body(
    error: str, message: str, *, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The one shape of every error answer (docs/client.md, "Errors"): ``error`` (a
    short, stable name a program tests), ``message`` (what a person reads), ``field``
    when one field of the request is at fault, and ``success: false``, which the
    original DTMS's clients test before reading anything else. ``extra``: keys that
    help the caller (``ticket``, ``path``, ``allowed``...)."""
    body: dict[str, Any] = {"error": error, "message": message}
    if field is not None:
        body["field"] = field
    return {**body, **extra, "success": False}
