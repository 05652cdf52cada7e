"""The exit manager's words for partial closes it could not make (:mod:`hostapp.exits`):
one line for the run's notes, with counts, so a run that skipped the same close on a
hundred trades says so once, as DTMS says what its ladder did not send
(``dtms_plugin.dropped_actions``)."""

from __future__ import annotations

from typing import Any


def too_small_words(ticket: int, symbol: str, fraction: float, volume: float, part: float,
                    step: float, vmin: float) -> str:  # fmt: skip
    """Why one trade's partial close was not sent: the part or the rest under the minimum."""
    return (
        f"ticket {ticket} {symbol}: {fraction:g} of {volume:g} lots, floored to the step "
        f"{step:g}, is {part:g}; the part and the rest must each be at least the minimum {vmin:g}"
    )


def partial_report(at_r: float, unreachable: int, too_small: int, example: str) -> dict[str, Any]:
    """The run report's counts and note of partial closes not made: nothing when every
    one due was made."""
    at = f"+{at_r:g}R"
    out: dict[str, Any] = {}
    notes = []
    if unreachable:
        out["partial_unreachable"] = unreachable
        notes.append(
            f"the partial close at {at} could not act on {unreachable:,} trades: their "
            "take-profit came at or before it (lower partial_at_r, or set partial = false)"
        )
    if too_small:
        out["partial_too_small"] = too_small
        closes = "partial close" if too_small == 1 else "partial closes"
        notes.append(
            f"did not send {too_small:,} {closes} due at {at}: the volume was too small to "
            f"split (e.g. {example})"
        )
    if notes:
        out["note"] = "; and ".join(notes)
    return out


def with_unmanaged_note(
    report: dict[str, Any], tickets: list[int], unreadable: str = ""
) -> dict[str, Any]:
    """``report`` with the open positions found at start-up that the exit rules do not
    manage (:meth:`hostapp.exits_restarts.RestartMemory._say_unmanaged`): counted, and
    said before any other note, as they are left to their own stops all run; with why,
    when the state file could not be read (``unreadable``)."""
    if not tickets:
        return report
    shown = ", ".join(map(str, tickets[:10])) + (" …" if len(tickets) > 10 else "")
    because = f": its exits/{unreadable}" if unreadable else ""
    said = (
        f"{len(tickets):,} position(s) open at start-up with no record of their initial "
        f"risk{because} were left to their own stops, not managed by the exit rules "
        f"(tickets {shown})"
    )
    note = report.get("note")
    return report | {"unmanaged_at_start": len(tickets),
                     "note": f"{said}; and {note}" if note else said}  # fmt: skip
