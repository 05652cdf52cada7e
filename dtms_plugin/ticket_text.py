"""A ticket written as text (a JSON object's key, an order comment's tail): one reading.

Why not ``text.isdigit()`` then ``int(text)``: ``isdigit`` is true of characters ``int``
refuses (``"²"``), and of a digit string longer than Python's limit for converting text
to int, so that pair raised where it meant to skip: an order comment ``DTMS_HEDGE_²``
failed a whole registration batch, a server's answer keyed ``"²"`` a whole refresh.
"""

from __future__ import annotations

#: More digits than any broker's ticket has (MetaTrader's are 64-bit: 20 at most).
MOST_DIGITS = 20


def ticket_in(text: object) -> int | None:
    """The ticket ``text`` spells in ASCII digits alone, else None."""
    if not isinstance(text, str) or not 0 < len(text) <= MOST_DIGITS:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text)
