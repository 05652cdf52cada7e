"""The sentences an A/B prints around its table (README, "The A/B replay"): the plugins'
warnings before it, and after it their notes and the host's, each said once and naming
every run that said it. Split from :mod:`hostapp.compare`, which makes the figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .compare_closed import money_parts, one_run_note
from .compare_held import held_notes
from .config import DISABLE_ENV
from .ran_dry import dry_warning
from .report import POSITION_HOOK


def warnings(report: Mapping[str, Any]) -> list[str]:
    """The ``warning`` sentences of the plugins' run reports, once each (the same
    sentence from both runs with the plugin is said once, naming both), printed before
    the table: figures a reader should doubt before reading them."""
    said = _said_once(_runs(report, baseline=False), lambda rep: rep.get("warning"))
    return [*filter(None, [dry_warning(runs_of(report))]), *said]


def _baseline(report: Mapping[str, Any]) -> str:
    """The baseline run as the sentences name it: its manager, or "without PLUGIN"."""
    return str(report["against"] or f"without {report['plugin']}")


def runs_of(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Each run of a comparison with the words the notes name it by."""
    plugin = report["plugin"]
    runs = [(_baseline(report), report["same_entries"]["without"])]
    runs.append((f"with {plugin}, same entries", report["same_entries"]["with"]))
    if "full" in report:
        runs.append((f"with {plugin}, full", report["full"]["with"]))
    return runs


def _runs(report: Mapping[str, Any], *, baseline: bool) -> list[tuple[str, Mapping[str, Any]]]:
    """The runs a plugin's sentence is said of, by their short names (the baseline's
    only with ``baseline``: its plugins may say what the others say)."""
    runs = [(_baseline(report), report["same_entries"]["without"])] if baseline else []
    runs.append(("same entries", report["same_entries"]["with"]))
    if "full" in report:
        runs.append(("full", report["full"]["with"]))
    return runs


def _said_once(
    runs: list[tuple[str, Mapping[str, Any]]], pick: Callable[[Mapping[str, Any]], Any]
) -> list[str]:
    """The sentence ``pick`` takes from each plugin's run report, once each, naming every
    run that said it: ``NAME (run, run): sentence``."""
    said: dict[tuple[str, str], list[str]] = {}
    for label, run in runs:
        for name, rep in sorted(run.get("plugin_reports", {}).items()):
            text = pick(rep) if isinstance(rep, Mapping) else None
            if text:
                said.setdefault((name, text), []).append(label)
    return [f"{name} ({', '.join(labels)}): {text}" for (name, text), labels in said.items()]


def notes(report: Mapping[str, Any]) -> list[str]:
    """Sentences the plugins' ``run_report`` asked to show, once each, naming every run
    that said it: the baseline's too, whose plugins (the strategy, an exit manager) are
    the same as the others' and may say the same (the strategy's orders risked more than
    asked in the baseline as in the full run, and only the full run was named)."""
    out = _said_once(_runs(report, baseline=True), lambda rep: rep.get("note") or rep.get("error"))
    out.extend(held_notes(runs_of(report), report["same_entries"].get("paired", {})))
    out.extend(host_notes(report))
    baseline_trades = report["same_entries"]["without"].get("trades", 0)
    full_trades = report.get("full", {}).get("with", {}).get("trades", 0)
    if not baseline_trades and full_trades:
        out.append(
            f"the run {_baseline(report)} opened no trade, so no entry could be paired: "
            f"{report['plugin']} proposes the entries its full run took; an A/B compares "
            "what manages trades, with the same strategy in every run"
        )
    out.extend(overridden_notes(report))
    names = {"with": f"with {report['plugin']}", "without": _baseline_run(report)}
    out.extend(
        filter(
            None,
            [
                one_run_note(report, names),
                r_and_money_note(report),
                kept_note(report, names),
                managers_in_every_run_note(report),
            ],
        )
    )
    return out


def managers_in_every_run_note(report: Mapping[str, Any]) -> str | None:
    """With ``--against OTHER``: the plugins, other than the two compared, that manage
    positions (:data:`~.report.POSITION_HOOK`) in every run, named with how to leave them
    out. Their moves are in every column, so the A/B measures the two managers each on
    top of them, not alone (docs/dtms.md §6's figures are of the two alone). ``None``
    without ``--against`` or without such a plugin."""
    against = report.get("against")
    if not against:
        return None
    runs = [run for _, run in runs_of(report)]
    shared = [
        name
        for name in report.get("in_every_run", [])
        if all(name in (run.get("position_managers") or []) for run in runs)
    ]
    if not shared:
        return None
    names, listed = " and ".join(shared), ", ".join(f'"{n}"' for n in shared)
    return (
        f"{names} also managed positions ({POSITION_HOOK}) in every run, beside {against} "
        f"and {report['plugin']}: each column is of its manager on top of {names}; to "
        f"compare {against} and {report['plugin']} alone, leave {names} out "
        f"({DISABLE_ENV}={','.join(shared)} before the command, or [plugins] disabled = "
        f"[{listed}] in plugins.toml)"
    )


def kept_note(report: Mapping[str, Any], names: Mapping[str, str]) -> str | None:
    """What a negative "winners' R kept" means, which its table cell (``-0.42``) leaves a
    reader to work out: the trades that won in the baseline lost R in all with the
    plugin, more given up than they made, and how many of them closed at a loss with
    it. ``None`` for a ratio of 0 or more (or none)."""
    paired = report["same_entries"].get("paired", {})
    kept = paired.get("winners_r_kept")
    if kept is None or kept >= 0:
        return None
    n, lost = paired.get("winners", 0), paired.get("winners_lost", 0)
    trades = "trade" if n == 1 else f"{n:,} trades"
    return (
        f"winners' R kept is {kept:.2f}, below 0: the {trades} that won {names['without']} "
        f"lost R in all {names['with']} ({lost:,} of them closed at a loss): the R given up "
        f"on them ({paired.get('winners_r_change', 0.0):+.2f}R) is more than they made"
    )


def _baseline_run(report: Mapping[str, Any]) -> str:
    """The baseline run as a sentence says where a trade was: "with atr_trailing",
    "without dtms"."""
    return f"with {report['against']}" if report["against"] else f"without {report['plugin']}"


#: why one R is not one sum of money when orders are sized by risk
SIZING = (
    "orders sized by risk risk a share of a balance that changes (one R is more money "
    "after gains than after losses)"
)


def r_and_money_note(report: Mapping[str, Any]) -> str | None:
    """The same entries' net R change and realised P&L change pointing opposite ways,
    and why. The R change counts the pairs closed in both runs; the money counts every
    close, so a trade closed in one run only (held to the end in the other), an entry
    one run did not take, or a part closed of a trade open in both is money without R:
    said first, with its part of the change (:func:`~.compare_closed.money_parts`).
    Sizing by risk is the cause only as far as the pairs closed in both still disagree:
    one R is a share of a balance that changes, so the same R is more money after
    gains than after losses. ``None`` when they agree (or one is nil)."""
    same = report["same_entries"]
    r = same.get("paired", {}).get("net_r_change")
    with_, without = same["with"].get("pnl"), same["without"].get("pnl")
    if r is None or with_ is None or without is None:
        return None
    money = round(with_ - without, 2)
    if not (r > 0 > money or r < 0 < money):
        return None
    head = (
        f"on the same entries the net R change is {r:+,.2f}R but the realised P&L changed "
        f"by {money:+,.2f}"
    )
    judge = "; judge trade management by R, the account by money"
    parts = money_parts(report, money)
    if parts is None:
        return f"{head}: the two disagree because {SIZING}{judge}"
    both = same["paired"]["closed_in_both_pnl_change"]
    text = f"{head}: of that, {'; '.join(parts)}"
    if r > 0 > both or r < 0 < both:
        text += f"; on those pairs the two still disagree because {SIZING}"
    return text + judge


def overridden_notes(report: Mapping[str, Any]) -> list[str]:
    """The same entries that a plugin would have vetoed, said under the plugin that
    would have: the compared one's own, and the others' apart, by name."""
    plugin = report["plugin"]
    by = dict(report["same_entries"]["with"].get("entries_veto_overridden_by", {}))
    out: list[str] = []
    mine = by.pop(plugin, 0)
    if mine:
        out.append(
            f"{plugin} would have vetoed {mine:,} of the same entries; they were taken anyway "
            "so that only trade management differs"
        )
    if by:
        who = ", ".join(f"{name} {count:,}" for name, count in sorted(by.items()))
        out.append(
            f"{sum(by.values()):,} of the same entries would have been vetoed by other plugins "
            f"than {plugin} ({who}); they were taken anyway so that only trade management differs"
        )
    return out


def host_notes(report: Mapping[str, Any]) -> list[str]:
    """The host's notes of the runs: once when every run has it (about the data, the
    broker's guessed rules), else said with the runs that have it. The broker's refusals
    are a run's own: the account of one run may go bust while the baseline's does not,
    and its trades are then fewer than the entries it was given."""
    said = [(label, list(run.get("host_notes", []))) for label, run in runs_of(report)]
    out: list[str] = []
    for _, texts in said:
        for text in texts:
            which = [label for label, others in said if text in others]
            if len(which) == len(said):
                line = text
            else:
                line = f"{' and '.join(which)} run{'s' if len(which) > 1 else ''}: {text}"
            if line not in out:
                out.append(line)
    return out
