"""The small schemas the OpenAPI document's schemas are built of (:mod:`.openapi_schemas`,
:mod:`.openapi_status`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookspecs.timeframes import EPOCH_US_FROM

from . import limits
from .unknown_keys import MAX_LISTED

NUM_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
#: a close reported again: what it sent otherwise than kept (:func:`.closing.close_not_applied`)
CLOSE_NOT_APPLIED: dict[str, Any] = {
    "type": "object",
    "description": "a close reported again: the fields it sent (profit, reason,"
    " closed_at, close_price) that differ from those kept: not applied",
    "additionalProperties": {
        "type": "object",
        "required": ["sent", "kept"],
        "properties": {
            "sent": {"type": ["number", "string"]},
            "kept": {"type": ["number", "string", "null"]},
        },
    },
}
#: a registration's ``comment`` (:mod:`.comments`)
COMMENT: dict[str, Any] = {
    "type": "string",
    "not": {"pattern": limits.CONTROL_CHAR},
    "description": "kept with the trade; no control character (U+0000..U+001F,"
    f" U+007F..U+009F); one longer than {limits.MAX_COMMENT_CHARS} characters is kept cut"
    " to that, said in the answer's warnings",
}
#: a registration's notes on what it kept otherwise than sent (:func:`.comments.with_cut_note`)
REGISTRATION_WARNINGS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "what the registration kept otherwise than sent, in words: 'comment: cut"
    f" to {limits.MAX_COMMENT_CHARS} characters (300 sent)'; absent when it kept all as sent",
}
STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
STATE: dict[str, Any] = {
    "type": "string",
    "enum": ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED"],
}

DIRECTION: dict[str, Any] = {
    "type": "string",
    "pattern": limits.DIRECTION_PATTERN,
    "description": "buy or sell, any case",
}
#: ``history_mark`` of a trade's answers (``views.history_mark``).
HISTORY_MARK: dict[str, Any] = {
    "type": "string",
    "description": "changes whenever the trade's history (GET /dtms/actions?ticket=) may"
    " have grown: a client that read the history under this mark need not read it again"
    " until it changes; an opaque text, compared whole, 0 while the history is empty"
    " (older servers do not send it)",
}

PRICE: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": limits.MAX_NUMBER,
}
LEVEL: dict[str, Any] = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": limits.MAX_NUMBER,
    "description": "null or 0: none",
}

_WS = "[ \\t\\r\\n]*"
_FRACTION = "(?:\\.[0-9]{1,40})?"


def _decimal_text(*, nonzero: bool) -> str:
    """A decimal > 0 (``nonzero``; else >= 0) as text below ``limits.MAX_NUMBER``: at
    most 12 integer digits with a negative exponent or none (``5.5e-17``: Python's text
    of a small float), or fewer with a positive exponent that keeps it under 12 digits
    (``2.0005e3``: the original DTMS's clients send such text, and the server reads it,
    :mod:`.coerce`); a bound a pattern can state, so a fuzzer's "valid" text is never
    one the server refuses."""
    forms = [f"[0-9]{{1,12}}{_FRACTION}(?:[eE]-[0-9]{{1,2}})?"]
    for exponent in range(12):
        digits = f"0{{0,{3 - len(str(exponent))}}}{exponent}"  # e3, e03, e003
        forms.append(f"[0-9]{{1,{12 - exponent}}}{_FRACTION}[eE][+]?{digits}")
    ahead = "(?=[0-9.]*[1-9])" if nonzero else ""
    return f"^{_WS}[+]?{ahead}(?:{'|'.join(forms)}){_WS}$"


#: A price or a volume as text (:func:`_decimal_text`), as the server reads it.
POSITIVE_TEXT = _decimal_text(nonzero=True)
#: A price, a volume: a number, or the same as text.
PRICE_OR_TEXT: dict[str, Any] = {
    "type": ["number", "string"],
    "exclusiveMinimum": 0,
    "maximum": limits.MAX_NUMBER,
    "pattern": POSITIVE_TEXT,
}
#: A stop loss or a take profit: as a price, or null, 0 or "0" for none.
LEVEL_OR_TEXT: dict[str, Any] = {
    "type": ["number", "string", "null"],
    "minimum": 0,
    "maximum": limits.MAX_NUMBER,
    "pattern": _decimal_text(nonzero=False),
    "description": "null or 0: none",
}
#: the unknown keys of a request body, named in its answer (docs/client.md)
IGNORED: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "the keys of the request this route does not know, ignored, in the order"
    f" sent: the first {MAX_LISTED} (ignored_count counts them all; both absent when there"
    " were none)",
}
#: how many keys ``ignored`` stands for (it lists at most :data:`MAX_LISTED`)
IGNORED_COUNT: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "description": "how many keys of the request were ignored (present with ignored)",
}
#: what a request body's keys are held to (unknown_keys.py): a JSON Schema cannot say it
UNKNOWN_KEYS = (
    " A key not listed here is ignored (named in the answer's ignored), unless it looks"
    " like a name of {guarded} while the body carries that field under none of its"
    " names: the same letters in another ASCII case or without _, - or spaces (stoploss,"
    " StopLoss), or, so compared, one edit (a letter added, dropped, changed, or two"
    " neighbours swapped) from a name of 4 to 7 letters, two from a longer one; never a"
    " key ending in a digit (take_profit_2), nor a name with two or more letters added"
    " before or after it (unrealised_profit). That is a 400 naming the key and the field,"
    " as its value would be lost."
)

PROFIT: dict[str, Any] = {
    "type": ["number", "string", "null"],
    "minimum": -limits.MAX_NUMBER,
    "maximum": limits.MAX_NUMBER,
    "pattern": f"^{_WS}[+-]?[0-9]{{1,12}}(?:\\.[0-9]{{1,40}})?(?:[eE]-[0-9]{{1,2}})?{_WS}$",
    "description": "realised profit in account currency (default 0), a number or a string of one",
}

#: The last millisecond of the year 9999, the last time a registration may carry.
_LAST_MS = 253_402_300_799_999
#: When a position opened: ISO 8601 (without an offset: UTC), or Unix seconds (milliseconds from
#: 1e11, microseconds from 1e14) as a number or a string of digits, from 1970 to the year 9999.
#: Every string of at most ``limits.MAX_TIME_CHARS`` characters, as the parser caps them.
TIME_OR_EPOCH: dict[str, Any] = {
    "anyOf": [
        {"type": "null"},
        {
            "type": "string",
            "format": "date-time",
            "maxLength": limits.MAX_TIME_CHARS,
            "pattern": "^(?:19[7-9][0-9]|[2-9][0-9]{3})-",
        },
        {
            "type": "string",
            "description": "without an offset: UTC",
            "maxLength": limits.MAX_TIME_CHARS,
            "pattern": "^(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
            "T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?$",
        },
        {
            "type": "string",
            "maxLength": limits.MAX_TIME_CHARS,  # spaces around the digits count too
            "pattern": f"^{_WS}[0-9]{{1,12}}{_WS}$",
        },
        # seconds, then milliseconds from 1e11, to the end of the year 9999; then
        # microseconds from 1e14 (between the two: milliseconds past the year 9999), to
        # that millisecond too: a float of seconds cannot hold the microseconds after it
        {"type": "number", "minimum": 0, "maximum": _LAST_MS},
        {"type": "number", "minimum": EPOCH_US_FROM, "maximum": _LAST_MS * 1000},
    ],
}

#: The smallest volume the paper broker of ``dtms serve`` trades, on every symbol it has:
#: where the document lists the symbols (that broker), it states this minimum too, so it
#: says exactly which registrations succeed (a volume below a symbol's minimum is a 400).
PAPER_VOLUME_MIN = 0.01
PAPER_VOLUME: dict[str, Any] = {
    **PRICE_OR_TEXT,
    "minimum": PAPER_VOLUME_MIN,
    "pattern": f"^{_WS}[+]?0*(?:[1-9][0-9]{{0,11}}(?:\\.[0-9]{{1,40}})?"
    f"|0\\.(?:[1-9][0-9]{{0,39}}|0[1-9][0-9]{{0,38}})){_WS}$",
}


def paper_volumes(maxima: Mapping[str, float]) -> list[dict[str, Any]]:
    """For each listed symbol of the paper broker, its maximum volume (``volume_max``: a
    volume above it is a 400 naming volume, as the broker refuses such an order), for
    numbers and for text: integral maxima are stated as a pattern too (1 .. max - 1 with
    any fraction, or max itself), others for numbers only."""
    rules = []
    for symbol, most in maxima.items():
        lots: dict[str, Any] = {**PAPER_VOLUME, "maximum": most}
        if most >= 1 and float(most).is_integer():
            whole = int(most)
            below = f"{limits.at_most(whole - 1)}(?:\\.[0-9]{{1,40}})?|" if whole > 1 else ""
            fraction = "0*0\\.(?:[1-9][0-9]{0,39}|0[1-9][0-9]{0,38})"
            lots["pattern"] = f"^{_WS}[+]?(?:{below}0*{whole}(?:\\.0{{1,40}})?|{fraction}){_WS}$"
        rules.append(
            {
                "if": {"required": ["symbol"], "properties": {"symbol": {"const": symbol}}},
                "then": {"properties": {"volume": {"anyOf": [lots, NO_VOLUME]}}},
            }
        )
    return rules


#: No volume (absent, null, 0 or "0", the original's default): the broker's open
#: position's is taken; a 409 naming volume when it has none (position_volume.py).
NO_VOLUME: dict[str, Any] = {
    "type": ["number", "string", "null"],
    "minimum": 0,
    "maximum": 0,
    "pattern": f"^{_WS}[+]?0{{1,12}}(?:\\.0{{1,40}})?{_WS}$",
}
VOLUME_NOTE = (
    "; absent, null or 0: the volume of the broker's open position with this ticket (a 409"
    " naming volume when the broker has none on this symbol and side)"
)


def volume(lots: dict[str, Any], description: str) -> dict[str, Any]:
    """The registration's volume: ``lots``, or none (:data:`NO_VOLUME`)."""
    return {"anyOf": [lots, NO_VOLUME], "description": description + VOLUME_NOTE}
