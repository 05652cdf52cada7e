"""The trades an A/B's position managers left alone because ``is_defensive`` answered
True (docs/architecture.md §7): said under the table, with how many of those answers
were not for the trade's own state, and how many of the changed trades they were.

A defender may answer True for every ticket for the account's sake (DTMS's account
rails: docs/dtms.md §7, §9): the exit manager then moves no stop of any trade, those
the defender is not acting on too, and a same-entries column that lost R on trades it
held said only what the defender did. The host tells the causes apart by data of the
contract alone: the managers' ``held_defensive`` and ``held_not_own_state``
(``run_report``, summed as the summary's ``exits_held_defensive`` and
``exits_held_not_own_state``), the plugins that answer ``is_defensive`` (the summary's
``defenders``) and the pairs of the same entries. Split from
:mod:`hostapp.compare_notes`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hookspecs import DEFENSIVE_STATES

from .outcomes import SAME_R, Pair


def held_pairs(pairs: Sequence[Pair], held: Mapping[str, int]) -> dict[str, Any]:
    """``held_defensive`` of the same entries' ``paired``: of the pairs closed in both
    runs whose R changed, how many were trades a manager held (``trades_changed``) and
    their R change (``r_change``); empty when no trade was held."""
    if not held:
        return {}
    changed = [
        p
        for p in pairs
        if p.delta_r is not None and abs(p.delta_r) > SAME_R and str(p.with_.ticket) in held
    ]
    return {
        "held_defensive": {
            "trades_changed": len(changed),
            "r_change": round(sum(p.delta_r or 0.0 for p in changed), 4),
        }
    }


def _holds(trades: int, holds: int) -> str:
    """``80 trades (150 holds)``: a manager counts a hold once per run of cycles it
    wanted the same thing of the trade."""
    return (
        f"{trades:,} trade{'' if trades == 1 else 's'} ({holds:,} hold{'' if holds == 1 else 's'})"
    )


def held_note(label: str, run: Mapping[str, Any], paired: Mapping[str, Any] | None) -> str | None:
    """The sentence of one run: who held back on how many trades because of whose
    answer, how many of those holds came while the trade's own state was not defensive,
    and (``paired``: the same entries') how many of the changed trades were held."""
    held = run.get("exits_held_defensive") or {}
    if not held:
        return None
    reports = run.get("plugin_reports", {})
    managers = sorted(
        name
        for name, rep in reports.items()
        if isinstance(rep, Mapping) and rep.get("held_defensive")
    )
    defenders = list(run.get("defenders") or [])
    by = f" (answered by {' or '.join(defenders)})" if defenders else ""
    text = (
        f"{label}: {' and '.join(managers) or 'a position manager'} left "
        f"{_holds(len(held), sum(held.values()))} alone (no stop moved, no part closed) "
        f"because is_defensive said they were defensive{by}"
    )
    not_own = run.get("exits_held_not_own_state") or {}
    if not_own:
        whose = " or ".join(defenders) or "the defender"
        all_of = len(not_own) == len(held) and sum(not_own.values()) == sum(held.values())
        count = "every hold" if all_of else _holds(len(not_own), sum(not_own.values()))
        states = " or ".join(sorted(s.value for s in DEFENSIVE_STATES))
        text += (
            f"; {count} came while the trade's own state was not defensive (no {states} "
            f"said by on_state_change): {whose} answered for the whole account (a defensive "
            "mode of the account), not for the trade"
        )
        off = [t.get("plugin") for t in run.get("tripped") or [] if t.get("plugin") in defenders]
        if off:
            text += f", or failed safe ({', '.join(map(str, off))} switched off)"
    return text + _changed_words(paired or {})


def _changed_words(paired: Mapping[str, Any]) -> str:
    """How many of the same entries' changed trades were held, and their R change."""
    mine, changed = paired.get("held_defensive"), paired.get("trades_changed")
    if not (mine and changed):
        return ""
    if not mine["trades_changed"]:
        return f"; none of the {changed:,} trades changed is among them"
    return (
        f"; of the {changed:,} trades changed, {mine['trades_changed']:,} are among them "
        f"({mine['r_change']:+,.2f}R of the net R change, "
        f"{paired.get('net_r_change', 0.0):+,.2f}R)"
    )


def held_notes(
    runs: Sequence[tuple[str, Mapping[str, Any]]], paired: Mapping[str, Any]
) -> list[str]:
    """One sentence per run whose managers held trades back (``runs``: each run with the
    words the notes name it by, the same entries' second); ``paired``: the same
    entries' pair figures, whose held trades are told apart there."""
    out = []
    for i, (label, run) in enumerate(runs):
        note = held_note(label, run, paired if i == 1 else None)
        if note is not None:
            out.append(note)
    return out
