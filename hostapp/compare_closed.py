"""The pairs of an A/B's same entries that closed in one run only (README, "The A/B
replay"): a trade the plugin closed that the baseline still held when the bars ended, or
the other way round. The paired R figures count pairs closed in both runs, so such a
trade is in none of them, while its result is in the run's realised P&L: a table that
read "trades changed 0" beside a trade the plugin closed at −0.65R, or a net R change of
+0.14R beside 40.21 less money put down to sizing by risk, said nothing of it.

:func:`closed_in_one_run` gives the figures ``summary.json`` keeps under
``same_entries.paired``; :func:`one_run_note` and :func:`money_parts` the words under
the table (:mod:`hostapp.compare_notes`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .outcomes import Pair

#: Pairs the note names one by one; past it, the rest are counted.
NAMED_PAIRS = 5


def closed_in_one_run(pairs: Sequence[Pair]) -> dict[str, Any]:
    """``closed_in_one_run``: each pair one run closed and the other held to the end,
    with its number in ``trades.csv``, the result of the run that closed it (``r``,
    ``profit``) and what the other's stood at (``open_profit`` realised so far,
    ``floating``, ``floating_r``); ``closed_in_both_pnl_change``, what the pairs the R
    figures count (closed in both, with an R) changed the realised P&L by; and
    ``closed_in_both_without_r`` and ``closed_in_both_without_r_pnl_change``, how many
    pairs closed in both without an R (opened without a stop: no R figure counts them)
    and what they changed it by, else their money was put down to trades in neither."""
    once: list[dict[str, Any]] = []
    both = without_r = 0.0
    no_r = 0
    for number, p in enumerate(pairs, 1):
        with_done, without_done = p.with_.closed_at is not None, p.without.closed_at is not None
        if with_done and without_done:
            if p.delta_r is not None:
                both += p.with_.profit - p.without.profit
            else:
                no_r += 1
                without_r += p.with_.profit - p.without.profit
            continue
        if not (with_done or without_done):
            continue
        done, held = (p.with_, p.without) if with_done else (p.without, p.with_)
        once.append(
            {
                "pair": number,
                "symbol": done.symbol,
                "direction": done.direction,
                "opened_at": done.opened_at.isoformat(),
                "closed_in": "with" if with_done else "without",
                "ticket": done.ticket,
                "r": None if done.r is None else round(done.r, 4),
                "profit": done.profit,
                "open_ticket": held.ticket,
                "open_profit": held.profit,
                "floating": held.floating,
                "floating_r": None if held.floating_r is None else round(held.floating_r, 4),
            }
        )
    return {
        "closed_in_one_run": once,
        "closed_in_both_pnl_change": round(both, 2),
        "closed_in_both_without_r": no_r,
        "closed_in_both_without_r_pnl_change": round(without_r, 2),
    }


def closed_in_both(paired: Mapping[str, Any]) -> tuple[int, int]:
    """How many pairs closed in both runs, and how many of them the R figures count
    (those with an R; a summary from before the others were kept has none)."""
    counted = int(paired.get("pairs_closed", 0))
    return counted + int(paired.get("closed_in_both_without_r", 0)), counted


def change_of(entry: Mapping[str, Any]) -> float:
    """What a pair closed in one run only changed the realised P&L by (with − without):
    its close in the run that closed it against what the other realised before the end."""
    closed, held = float(entry["profit"]), float(entry.get("open_profit") or 0.0)
    return closed - held if entry["closed_in"] == "with" else held - closed


def one_run_note(report: Mapping[str, Any], names: Mapping[str, str]) -> str | None:
    """The pairs closed in one run only, each with what it did in either run, after how
    many pairs the R figures count; ``names`` says ``with`` and ``without`` in words.
    ``None`` when there are none (or a summary from before they were kept)."""
    paired = report["same_entries"].get("paired", {})
    once = paired.get("closed_in_one_run") or []
    if not once:
        return None
    each = [_pair_words(entry, names) for entry in once[:NAMED_PAIRS]]
    if len(once) > NAMED_PAIRS:
        each.append(f"and {len(once) - NAMED_PAIRS:,} more (trades.csv has them by pair)")
    (closed, counted), pairs = closed_in_both(paired), paired.get("pairs", 0)
    one = len(once) == 1
    which = (
        "only those are"
        if closed == counted
        else f"only the {counted:,} of them with an R (opened with a stop) "
        f"{'is' if counted == 1 else 'are'}"
    )
    return (
        f"{closed:,} of the {pairs:,} pairs closed in both runs, and {which} in the "
        f"R figures above; {len(once):,} closed in one run only, the other holding "
        f"{'it' if one else 'them'} at the end, and {'its' if one else 'their'} result is in "
        "the realised P&L alone: " + "; ".join(each)
    )


def _pair_words(entry: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One pair closed in one run only: where it closed and at what, where it was held."""
    closed_in = str(entry["closed_in"])
    held_in = "without" if closed_in == "with" else "with"
    when = str(entry["opened_at"])[:16].replace("T", " ")
    r = entry.get("r")
    at = f"{r:+.2f}R ({entry['profit']:+,.2f})" if r is not None else f"{entry['profit']:+,.2f}"
    stood = []
    if entry.get("floating_r") is not None:
        stood.append(f"{entry['floating_r']:+.2f}R")
    if entry.get("floating") is not None:
        stood.append(f"{entry['floating']:+,.2f}")
    held = f"floating {', '.join(stood)}" if stood else "floating unknown"
    if entry.get("open_profit"):
        held += f", {entry['open_profit']:+,.2f} realised before"
    tickets = (
        f"ticket {entry['ticket']}"
        if entry["ticket"] == entry["open_ticket"]
        else f"ticket {entry['ticket']}, {entry['open_ticket']} in the other run"
    )
    return (
        f"pair {entry['pair']} ({entry['symbol']} {entry['direction']} opened {when}, "
        f"{tickets}) closed {names[closed_in]} at {at}, still open at the end "
        f"{names[held_in]} ({held})"
    )


def money_parts(report: Mapping[str, Any], money: float) -> list[str] | None:
    """What made the same entries' change of realised P&L, ``money``, when more than the
    pairs the R figures count made it: those pairs' part, the pairs closed in both without
    an R, the pairs closed in one run only, and the rest (entries unpaired, parts closed
    of trades open in both at the end), each a phrase; ``None`` when the counted pairs
    made it all (or a summary from before these figures were kept)."""
    same = report["same_entries"]
    paired = same.get("paired", {})
    both = paired.get("closed_in_both_pnl_change")
    if both is None:
        return None
    once = paired.get("closed_in_one_run") or []
    one = round(sum(change_of(entry) for entry in once), 2)
    no_r = int(paired.get("closed_in_both_without_r", 0))
    unrated = float(paired.get("closed_in_both_without_r_pnl_change", 0.0))
    rest = round(money - both - unrated - one, 2)
    # each trade's profit is kept to the cent: their sums may miss the P&L by as many
    trades = int(same["with"].get("trades", 0)) + int(same["without"].get("trades", 0))
    rounding = 0.005 * (trades + 1)
    if not once and not no_r and abs(rest) <= rounding:
        return None
    n = paired.get("pairs_closed", 0)
    pairs = f"pair{'s' if n != 1 else ''}"
    rated = " with an R" if no_r else ""
    parts = [
        f"{both:+,.2f} from the {n:,} {pairs} closed in both runs{rated}, which the R change counts"
    ]
    if no_r:
        parts.append(
            f"{unrated:+,.2f} from the {no_r:,} closed in both runs without an R (opened "
            "without a stop), which no R figure counts"
        )
    if once:
        k = len(once)
        parts.append(f"{one:+,.2f} from the {k:,} closed in one run only (named above)")
    if abs(rest) > rounding:
        parts.append(
            f"{rest:+,.2f} from trades in neither (entries unpaired, parts closed of trades "
            "open in both at the end)"
        )
    return parts
