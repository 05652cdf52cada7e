"""Structured log events: one line per thing DTMS does, readable by people and by programs.

Why here: the host, the DTMS server and third-party plugins all emit the same events
(registration, transition, action) and all may be run with ``--log-json``. The formatter
and the helper live in the contract package, which everything may import, so a plugin
never needs hostapp internals to log an event the host's log pipeline understands.

An event is an ordinary :mod:`logging` record whose fields travel in ``extra``: the
human formatter ignores them (the message already says it all), the JSON formatter puts
each one in the line as its own key, so ``jq 'select(.ticket == 7)'`` works.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .types import Action, ActionResult, DefensiveState, ResultCode

#: The attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

#: A log record with this attribute true (``extra={FOR_TERMINAL: True}``) reaches the
#: terminal of ``hostapp run`` and ``replay`` at WARNING too, where only errors go (the rest
#: is in the report's ``hostapp.log``): the end of an episode a plugin said as an ERROR
#: there ("… answers again") belongs where its beginning was read. Each time it is said:
#: a run that lasts weeks may end two episodes in the same words.
FOR_TERMINAL = "for_terminal"

#: Like :data:`FOR_TERMINAL`, for a WARNING the terminal shows once per text, whichever
#: run says it: what a plugin finds wrong as it starts (a setting it ignores, a file it
#: lacks), which every run of an A/B or a sweep starts again and would say again.
FOR_TERMINAL_ONCE = "for_terminal_once"

#: The one line format of human-readable logs; ``_run_tag`` names the run a line is of in
#: a command of several (an A/B's, a sweep's: `` [without]``), empty otherwise.
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s%(_run_tag)s: %(message)s"


def printable(text: str) -> str:
    """``text`` with each character that is not printable (a line break, ESC, a C1
    control, a bidirectional override) written as its escape (``\\n``, ``\\x1b``).

    Why: a value a client sent (a close's ``reason``, a registration's ``comment``) is
    kept as sent, but written raw to a log it could forge a line (``tp\\n2026-… CRITICAL
    …``) and on a terminal it could clear the screen (``\\x1b[2J``). Logs and the
    ``dtms`` tables show it through this."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def printable_message(record: logging.LogRecord) -> str:
    """``record``'s message, each text argument :func:`printable`: the arguments are the
    data (a client's words among them), the format string is the program's own, whose
    line breaks are meant."""
    args = record.args
    if not args or not _raw(args):
        return record.getMessage()
    safe: Any
    if isinstance(args, Mapping):
        safe = {k: printable(v) if isinstance(v, str) else v for k, v in args.items()}
    else:
        safe = tuple(printable(a) if isinstance(a, str) else a for a in args)
    try:
        text: str = str(record.msg) % safe
    except (TypeError, ValueError, KeyError):  # as logging would, with the raw arguments
        return record.getMessage()
    return text


def _raw(args: Any) -> bool:
    """Whether a text among a log record's ``args`` has a character to escape: nearly
    never, and then the line is formatted once, as logging formats it."""
    values = args.values() if isinstance(args, Mapping) else args
    return any(isinstance(v, str) and not v.isprintable() for v in values)


def log_event(
    log: logging.Logger,
    event: str,
    message: str,
    *args: Any,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log ``message % args`` as event ``event`` with ``fields`` (ticket, symbol, …).

    Fields whose value is None are left out, so a JSON line never claims a null symbol it
    simply did not know."""
    extra = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
    clash = extra.keys() & _STANDARD
    if clash:
        raise ValueError(f"log_event: field(s) {sorted(clash)} clash with LogRecord attributes")
    log.log(level, message, *args, extra=extra)


def log_action(
    log: logging.Logger,
    action: Action,
    result: ActionResult,
    symbol: str | None,
    *,
    in_a_row: int = 1,
    ends: int = 0,
    reported: bool = False,
) -> None:
    """The ``action`` event: what was done to which trade, and the broker's answer.
    ``reported``: carried out elsewhere (a DTMS server on the account) and reported to
    this host (``HostView.report_action``), said so in the line and its ``reported`` field,
    so a reader of the log never counts it as this host's order.

    For a broker that refuses the same action on the same ticket again and again (a close
    retried on every bar of a closed market), a problem that repeats each cycle is one
    episode in the log, with its count: ``in_a_row`` is how many times in a row this refusal
    came with this code (logged at WARNING the first and second time, the second saying
    that more go to DEBUG); ``ends`` is how many failed answers this answer ends (it says
    so). An answer of unknown outcome is no refusal (the broker may have done it): its
    repeats are said as such."""
    message = "action %s on ticket %s" + (" (reported: carried out elsewhere)" if reported else "")
    message += ": %s %s"
    args: list[object] = [action.kind.value, action.ticket, result.code.value, result.message]
    level = logging.INFO if result.ok else logging.WARNING
    what = "outcome unknown" if result.code is ResultCode.UNKNOWN_OUTCOME else "refused"
    if not result.ok and in_a_row == 2:
        message += f" ({what} again: more of the same are logged at DEBUG until it changes)"
    elif not result.ok and in_a_row > 2:
        level = logging.DEBUG
        message += f" ({what} {in_a_row} times in a row)"
    if ends:
        message += f" (after {ends} failed answer{'s' if ends > 1 else ''} in a row)"
    log_event(
        log,
        "action",
        message,
        *args,
        level=level,
        ticket=action.ticket,
        symbol=symbol,
        kind=action.kind.value,
        ok=result.ok,
        code=result.code.value,
        reason=action.reason,
        in_a_row=in_a_row if not result.ok and in_a_row > 1 else None,
        after_refusals=ends or None,
        reported=reported or None,
    )


def log_transition(
    log: logging.Logger,
    ticket: int,
    old: DefensiveState,
    new: DefensiveState,
    reason: str,
    *,
    symbol: str | None,
    score: float | None = None,
) -> None:
    """The ``transition`` event: a trade moved along the DTMS ladder, with the score and
    reason. ``score``: the total of the score breakdown the change carries, if any."""
    log_event(
        log,
        "transition",
        "ticket %s: %s -> %s (%s)",
        ticket,
        old,
        new,
        reason,
        ticket=ticket,
        symbol=symbol,
        old=str(old),
        new=str(new),
        score=score,
        reason=reason,
    )


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of ``record`` (what is not a standard LogRecord attribute)."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, then every
    ``extra`` field. Values JSON cannot carry are written as their ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": printable_message(record),
        }
        for key, value in event_fields(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """``time LEVEL logger: message``; the message of an event names its ticket already.
    A record of one run of a command of several carries ``_run_tag`` (``time LEVEL
    logger [without]: message``) and, for ``--log-json``, a ``run`` field."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT, defaults={"_run_tag": ""})

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line, its arguments :func:`printable`: one record is one line."""
        if record.args and _raw(record.args):
            shown = printable_message(record)
            record = logging.makeLogRecord({**record.__dict__, "message": shown})
        return super().formatMessage(record)
