"""The bounds of what the DTMS API accepts, in one place for the parser and the OpenAPI
document, so that the two cannot disagree (docs/architecture.md §9: a 400 names the field).

Why bounds at all: every value a client sends is checked before it is used, so no input
can reach an OverflowError, a RecursionError or Python's int-digit limit and turn into a
500. The numbers are far beyond any real trade and tight enough to be safe.
"""

from __future__ import annotations

#: The characters stripped around tickets, directions and symbols (ASCII only, so the
#: server and the document's regular expressions agree on what "space" means).
SPACES = " \t\r\n"
_WS = "[ \\t\\r\\n]*"

#: A control character (Unicode category Cc): refused in a registration's ``comment``
#: (a NUL cuts the comment short in any C string, the broker's included). Written once
#: for Python's ``re`` and the document's ECMAScript patterns, which read it alike.
CONTROL_CHAR = "[\\x00-\\x1f\\x7f-\\x9f]"
#: A character that is neither a control character nor a space of ECMAScript's ``\s``
#: (which Python's differs from: it counts U+001C..U+001F, not U+FEFF): a close's
#: ``reason`` must have one, so that the server and the document's pattern agree.
PRINTED_CHAR = (
    "[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
)

#: Tickets: 1 .. 2**64 - 1 (a MetaTrader ticket is an unsigned 64-bit integer), as ints
#: or digit strings. Every store keeps a ticket as text (a key such as ``"trade:7"``, a
#: JSON number, a Redis field name), never in a 64-bit signed SQLite INTEGER.
MAX_TICKET = 2**64 - 1


def at_most(bound: int) -> str:
    """A regular expression (no anchors) for the decimal numbers 1 .. ``bound``, leading
    zeros allowed: the document's patterns bound a ticket string exactly as the parser
    does, so a fuzzer's "valid" string is never one the server refuses."""
    text = str(bound)
    parts = []
    if len(text) > 1:
        parts.append(f"[1-9][0-9]{{0,{len(text) - 2}}}")
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            parts.append(f"{text[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}")
    parts.append(text)
    return "0*(?:" + "|".join(parts) + ")"


TICKET_DIGITS = at_most(MAX_TICKET)
TICKET_PATTERN = f"^{_WS}{TICKET_DIGITS}{_WS}$"
#: ``tickets=1,2,3``: separated by commas or spaces (``1+2`` in a query), empty parts
#: skipped, at least one ticket.
_SEP = "[ \\t\\r\\n,]"
TICKET_LIST_PATTERN = f"^{_SEP}*{TICKET_DIGITS}(?:{_SEP}+{TICKET_DIGITS})*{_SEP}*$"

DIRECTION_PATTERN = f"^{_WS}(?:[Bb][Uu][Yy]|[Ss][Ee][Ll][Ll]){_WS}$"


def side_pattern(side: str) -> str:
    """The part of :data:`DIRECTION_PATTERN` that reads ``side`` (``buy`` or ``sell``)."""
    letters = "".join(f"[{c.upper()}{c}]" for c in side)
    return f"^{_WS}{letters}{_WS}$"


MAX_SYMBOL_CHARS = 64
SYMBOL_PATTERN = f"^{_WS}[!-~]{{1,{MAX_SYMBOL_CHARS}}}{_WS}$"

#: Prices and volumes: (0, MAX_NUMBER].
MAX_NUMBER = 1e12
#: A MetaTrader magic number is a 64-bit integer.
MIN_MAGIC = -(2**63)
MAX_MAGIC = 2**64 - 1
#: a magic number as a string, bounded exactly as the parser bounds it (every 19- and
#: 20-digit number up to 2**64 - 1 is one: an 18-digit pattern refused MetaTrader's)
MAGIC_PATTERN = f"^{_WS}(?:[+]?(?:0+|{at_most(MAX_MAGIC)})|-(?:0+|{at_most(-MIN_MAGIC)})){_WS}$"
#: ``opened_at`` and ``closed_at``, once in UTC: from the Unix epoch on (no broker held a
#: position before it; ``0001-01-01`` is a client's empty date, not a trade's)
OPENED_AT_YEARS = (1970, 9999)
MAX_TIME_CHARS = 64
#: A registration's ``comment``: kept with the trade and echoed in every answer about it.
#: MetaTrader's comment holds 31 characters (the host's own, ``DTMS_READD_<ticket>``,
#: fits); the cap leaves room for another broker's, and keeps 60 KB out of each answer.
MAX_COMMENT_CHARS = 256

#: The most registrations one ``POST /dtms/trades`` may carry (a body stays well under
#: the 64 KiB the server accepts); also the most one engine round registers
#: (:mod:`.rounds`), so a round never does more than one such request did alone.
MAX_BATCH_REGISTRATIONS = 200

#: JSON bodies: nesting depth and the digits of one integer literal.
MAX_DEPTH = 32
MAX_INT_DIGITS = 40
#: Characters of a value echoed back in an error message.
SHOWN_CHARS = 80


class LongNumber(str):
    """An integer literal of more than ``MAX_INT_DIGITS`` digits, kept as its text: it is
    never converted (Python refuses over 4,300 digits, and converting is quadratic), and
    the field that holds it gets a 400 "too large"."""
