"""Tickets read from text a server or a comment wrote (dtms_plugin.ticket_text): what
``int`` would refuse, or read as another number, is no ticket, never an exception."""

from __future__ import annotations

import pytest

from dtms_plugin.ticket_text import ticket_in


@pytest.mark.parametrize(
    ("text", "ticket"),
    [("7", 7), ("007", 7), ("18446744073709551615", 18446744073709551615), ("\u00b2", None),
     ("\u0663", None), ("9" * 21, None), ("9" * 5000, None), ("", None), ("-3", None),
     (" 7", None), ("7.0", None), (7, None), (None, None)],
)  # fmt: skip
def test_only_ascii_digits_of_a_ticket_are_a_ticket(text: object, ticket: int | None) -> None:
    assert ticket_in(text) == ticket
