"""The report of a sweep (:mod:`hostapp.sweep`): its rows ranked by a stated criterion,
the table (in the A/B table's words and formats, :mod:`hostapp.compare`), ``sweep.csv``
and ``sweep.json``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .ab_runs import Replay
from .compare import PAIRED_ROWS, ROWS, fmt
from .config import HostConfig
from .report_files import write_whole

Change = tuple[str, Any]  # ("NAME.KEY", value)
Setting = tuple[Change, ...]

#: The columns of a row after its settings: (column, where in the A/B report, kind).
FIGURES: tuple[tuple[str, tuple[str, str], str], ...] = (
    ("pairs", ("paired", "pairs"), "n"),
    ("unpaired", ("paired", "unpaired"), "n"),
    ("winners_r_kept", ("paired", "winners_r_kept"), "x"),
    ("losers_r_saved", ("paired", "losers_r_saved"), "R"),
    ("max_drawdown_without", ("without", "max_drawdown"), "$"),
    ("max_drawdown_with", ("with", "max_drawdown"), "$"),
    ("avg_r_without", ("without", "avg_r"), "R"),
    ("avg_r_with", ("with", "avg_r"), "R"),
)
#: The figures a setting has no value for when no entry was paired.
R_FIGURES = ("winners_r_kept", "losers_r_saved", "avg_r_without", "avg_r_with")
CRITERION = (
    "highest average R with {plugin} on the same entries, as shown (to 0.01R); ties: smaller "
    "max drawdown, then higher average R to 0.0001R (as sweep.csv gives it), then the order "
    "the values were given"
)
OVERFIT = (
    "warning: tuned in-sample: the best row fits these very bars, noise included, and will "
    "do worse on bars it never saw"
)
#: what the warning adds when the sweep held no bars back
SPLIT_HINT = " (--split F holds the rest of the bars back to check)"
#: what a row marked ``*`` means: the run with the plugin took fewer trades than the
#: baseline (the broker refused orders once its account ran dry), so the columns of the
#: two runs are over different trades
UNPAIRED = (
    "*: the run with {plugin} did not take every entry of the baseline (entries unpaired: "
    "the broker refused them, or the run was cut short; sweep.json has the row's notes): its "
    "max drawdown and average R cover only the trades it took, those without cover all of "
    "the baseline's, so the two do not compare like with like"
)


@dataclass(frozen=True)
class Row:
    """One setting's figures (``figures`` keyed by the columns of :data:`FIGURES`)."""

    setting: Setting
    figures: dict[str, Any]
    #: What the plugins and the host said under the runs (:func:`hostapp.compare_notes.notes`).
    notes: list[str] = field(default_factory=list)
    #: The plugins' warnings about the runs' figures (:func:`hostapp.compare_notes.warnings`).
    warnings: list[str] = field(default_factory=list)
    #: Why the plugin under test did nothing in the row's run (:func:`hostapp.compare.idle_reason`),
    #: ``None`` when it acted: a sweep in which every row is idle shows nothing.
    idle: str | None = None
    #: The settings the run used, by ``NAME.KEY``: what each plugin's report said under
    #: ``settings`` (the ``run_report`` hook), defaults included.
    in_force: dict[str, Any] = field(default_factory=dict)
    #: The entries of the baseline each plugin's ``allow_order`` would have vetoed in the
    #: row's run (``entries_veto_overridden_by``: a same-entries run opens them all).
    would_veto: dict[str, int] = field(default_factory=dict)


def identical_rows(rows: Sequence[Row], keys: Sequence[str]) -> str | None:
    """Why the rows are all alike, when there are two or more and every figure is the
    same in each: their ranking is then only the order they ran in. A setting that only
    changes vetoes is told by the vetoes it would have made, which differ between the
    rows while nothing else does: a same-entries run never applies a veto. Otherwise the
    swept values changed nothing on these bars; ``None`` when the rows differ."""
    if len(rows) < 2 or any(r.figures != rows[0].figures for r in rows[1:]):
        return None
    swept = sorted({key.partition(".")[0] for key in keys})
    vetoes = [tuple(r.would_veto.get(name, 0) for name in swept) for r in rows]
    which = ", ".join(keys)
    if len(set(vetoes)) > 1:
        counts = [sum(v) for v in vetoes]
        return (
            f"the {len(rows)} rows are identical: {which} changed only which entries "
            f"{' and '.join(swept)} would have vetoed (from {min(counts)} to {max(counts)} "
            "by row), "
            "and the same-entries runs of a sweep open every entry of the baseline, never "
            "applying a veto; judge such a setting with the full A/B (hostapp replay "
            "--compare, the value set in the config file)"
        )
    return (
        f"the {len(rows)} rows are identical: the swept values of {which} changed nothing "
        "in these runs (the plugin may not act on that key here, or every value acts alike "
        "on these bars), so their order says nothing"
    )


def inert_keys(rows: Sequence[Row], keys: Sequence[str]) -> str | None:
    """The swept keys whose values changed nothing while the others did: rows differing
    in that key alone have the same figures (a deadline of a state no trade reached),
    ranked apart only by the order they ran in. ``None`` when there is none, or when all
    the rows are alike (:func:`identical_rows` says that)."""
    if len(keys) < 2 or identical_rows(rows, keys) is not None:
        return None
    inert = []
    for key in keys:
        groups: dict[Setting, list[dict[str, Any]]] = {}
        for row in rows:
            rest = tuple(change for change in row.setting if change[0] != key)
            groups.setdefault(rest, []).append(row.figures)
        compared = [g for g in groups.values() if len(g) > 1]
        if compared and all(all(f == g[0] for f in g[1:]) for g in compared):
            inert.append(key)
    if not inert:
        return None
    which = ", ".join(inert)
    return (
        f"the swept values of {which} changed nothing in these runs: rows that differ in "
        f"{'it' if len(inert) == 1 else 'one of them'} alone have the same figures (the "
        "plugin may not act on that key here: a state no trade reached, say), so their "
        "order among themselves says nothing"
    )


def used_settings(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a run used, by ``NAME.KEY``, from its plugins' reports (a report
    without ``settings``, or with something else there, gives none)."""
    out: dict[str, Any] = {}
    for name, report in summary.get("plugin_reports", {}).items():
        said = report.get("settings") if isinstance(report, Mapping) else None
        if isinstance(said, Mapping):
            out.update((f"{name}.{key}", value) for key, value in said.items())
    return out


def rank(rows: list[Row]) -> list[Row]:
    """Best first by :data:`CRITERION`; rows without an average R last. The average R is
    compared as the table shows it: two rows both shown -0.03R are a tie, which the smaller
    drawdown breaks, rather than ranked by a difference no reader can see. A tie of both
    is broken by the average R itself (``summary.json``'s, to 0.0001R): at averages of
    +0.05R to +0.1R many rows show the same two decimals and the same drawdown, and the
    order the values were typed in ranked +0.0672R above +0.0712R. Rows equal in all
    three keep that order (the sort is stable); ``--split`` chooses the first."""

    def key(row: Row) -> tuple[bool, float, float, float]:
        avg, dd = row.figures.get("avg_r_with"), row.figures.get("max_drawdown_with")
        shown_avg = round(avg or 0.0, 2) + 0.0  # + 0.0: -0.0 and 0.0 are one
        return (avg is None, -shown_avg, dd if dd is not None else float("inf"), -(avg or 0.0))

    return sorted(rows, key=key)


def sweep_summary(
    plugin: str,
    against: str | None,
    sweeps: Sequence[tuple[str, list[Any]]],
    ranked: list[Row],
    tested: list[tuple[str, Row]],
    split: float | None,
    replay: Replay,
    interrupted: bool,
) -> dict[str, Any]:
    keys = [key for key, _ in sweeps]

    def one(row: Row) -> dict[str, Any]:
        return {
            "settings": dict(row.setting),
            "in_force": {k: row.in_force[k] for k in keys if k in row.in_force},
            **row.figures,
            "notes": row.notes,
            "warnings": row.warnings,
            "did_nothing": row.idle,
        }

    out: dict[str, Any] = {
        "plugin": plugin,
        "against": against,
        "sweep": {k: v for k, v in sweeps},
        "criterion": CRITERION.format(plugin=plugin),
        "rows": [one(r) for r in ranked],
        "identical": identical_rows(ranked, keys),
        "inert": inert_keys(ranked, keys),
        "interrupted": interrupted,
        "data": replay.extra.get("data"),
    }
    if split is not None:
        out["split"] = {
            "fraction": split,
            "test": {label: one(row) for label, row in tested},
        }
        if not tested:
            out["split"]["not_tested"] = not_tested(interrupted, ranked)
    return out


def not_tested(interrupted: bool, ranked: list[Row]) -> str:
    """Why a ``--split`` sweep has no out-of-sample figures: an empty table under its
    title would read as a test that found nothing."""
    if interrupted:
        return "the sweep was interrupted before the held-out bars were replayed"
    if not ranked:
        return "no setting went through the tuning bars, so none was chosen"
    return "a run on the held-out bars did not go through them"


def write_csv(
    path: Path, keys: list[str], ranked: list[Row], tested: list[tuple[str, Row]], tune: str
) -> None:
    columns = ["data", "rank", *keys, *(c for c, _, _ in FIGURES)]

    def write(f: TextIO) -> None:
        writer = csv.writer(f)
        writer.writerow(columns)
        for part, labelled in ((tune, list(enumerate(ranked, 1))), ("test", tested)):
            for rank, row in labelled:
                values = {**row.in_force, **dict(row.setting)}
                writer.writerow(
                    [part, rank, *(shown(values[k]) if k in values else "" for k in keys)]
                    + [row.figures.get(c) for c, _, _ in FIGURES]
                )

    write_whole(path, write)


def shown(value: Any) -> str:
    """A setting's value as it is typed in ``--sweep`` and the config file (``true``, not
    Python's ``True``), in one format whatever its type: a whole number without a
    decimal point. The rows of a sweep show ``--sweep``'s values as typed (``-2``) and
    the "as configured" row the value the plugin said it used (DTMS's float ``-2.0``):
    one setting read as two."""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _labels(base: str = "without") -> dict[str, str]:
    """Column titles in the A/B table's words (:mod:`hostapp.compare`); ``base`` names
    the baseline (``--against``'s manager; the CSV's keys keep saying ``without``)."""
    words = {key: label for key, label, _ in (*ROWS, *PAIRED_ROWS)}
    return {
        "pairs": words["pairs"],
        "unpaired": "entries\nunpaired",
        "winners_r_kept": words["winners_r_kept"],
        "losers_r_saved": words["losers_r_saved"],
        "max_drawdown_without": f"{words['max_drawdown']}\n{base}",
        "max_drawdown_with": f"{words['max_drawdown']}\nwith",
        "avg_r_without": f"{words['avg_r']}\n{base}",
        "avg_r_with": f"{words['avg_r']}\nwith",
    }


def _table(
    title: str,
    caption: str,
    first: str,
    keys: list[str],
    rows: list[tuple[str, Row]],
    configured: Callable[[Row, str], str] = lambda row, key: "",
    narrow: bool = False,
    base: str = "without",
) -> Any:
    """The table of ``rows``; ``narrow``: each figure column as wide as its widest figure
    or header word, so that a terminal too narrow for the table wraps the headers and
    never cuts a figure (rich would shorten it to ``+0.``)."""
    from rich.table import Table
    from rich.text import Text  # a value as typed, not markup: "[a]" stays "[a]"

    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    table.add_column(first, justify="right", no_wrap=True)
    for key in keys:  # wrapped at its dots: the figures need the width
        widest = max(len(part) + 1 for part in key.split("."))
        table.add_column(
            key.replace(".", ".\n"), justify="right", min_width=widest, overflow="fold"
        )
    labels = _labels(base)
    for column, _, kind in FIGURES:  # as wide as its widest figure or word: headers wrap
        cells = [fmt(row.figures.get(column), kind) for _, row in rows]
        widest = max(len(text) for text in (*cells, *labels[column].split()))
        table.add_column(labels[column], justify="right", width=widest if narrow else None)
    for name, row in rows:
        values = dict(row.setting)
        table.add_row(
            f"{name}*" if row.figures.get("unpaired") else name,
            *(Text(shown(values[k]) if k in values else configured(row, k)) for k in keys),
            *(fmt(row.figures.get(c), kind) for c, _, kind in FIGURES),
        )
    return table


def _configured(config: HostConfig, row: Row, key: str) -> str:
    """The value of ``NAME.KEY`` the row's run used, as its plugin said it; else as the
    config file has it; else ``default`` (a plugin that does not say its settings)."""
    if key in row.in_force:
        return shown(row.in_force[key])
    name, _, rest = key.partition(".")
    value: Any = config.plugin_tables.get(name, {})
    for part in rest.split("."):
        if not isinstance(value, dict) or part not in value:
            return "default"
        value = value[part]
    return shown(value)


def print_sweep(
    config: HostConfig,
    summary: Mapping[str, Any],
    ranked: list[Row],
    tested: list[tuple[str, Row]],
    keys: list[str],
    json_out: bool,
) -> None:
    if json_out:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    from rich.console import Console

    plugin = summary["plugin"]
    baseline = summary["against"] or f"without {plugin}"
    split = summary.get("split")
    part = "all the bars"
    if split:
        part = f"the first {_percent(split['fraction'])} of the bars ({split['bars']['tune']:,})"
    title = f"Sweep of {plugin}: same entries, {baseline} vs with {plugin}, on {part}"
    caption = f"best first: {summary['criterion']}"
    tables: list[tuple[str, str, str, list[tuple[str, Row]], Callable[[Row, str], str]]] = [
        (title, caption, "rank", [(str(i), r) for i, r in enumerate(ranked, 1)], lambda r, k: "")
    ]
    rest = ""
    if split:
        rest = f"the last {_percent(1 - split['fraction'])} of the bars ({split['bars']['test']:,}"
        begins = split.get("from")
        rest += f", from {datetime.fromisoformat(begins):%Y-%m-%d %H:%M} UTC)" if begins else ")"
        title = f"Out of sample: {rest}, never tuned on"
        caption = (
            "chosen: the best row above; as configured: the settings in the config file, "
            "the plugin's defaults for the keys it leaves out"
        )
        tables.append((title, caption, "", tested, lambda r, k: _configured(config, r, k)))
    console, wide = Console(highlight=False), Console(width=10_000)
    base = summary["against"] or "without"
    built = [_table(t, c, f, keys, r, v, base=base) for t, c, f, r, v in tables]
    widest = max(wide.measure(t).maximum for t in built)
    if not console.is_terminal:  # a pipe or a file: as wide as the tables want
        console = Console(width=widest, highlight=False)
    elif widest > console.width:  # headers wrap; wider than the terminal rather than a figure cut
        built = [_table(t, c, f, keys, r, v, narrow=True, base=base) for t, c, f, r, v in tables]
        need = max(wide.measure(t).maximum for t in built)
        console = Console(width=max(need, console.width), highlight=False)
    console.print(built[0])
    for said in ("identical", "inert"):
        if summary.get(said):
            console.print(f"note: {summary[said]}", soft_wrap=True, markup=False)
    if any(r.figures.get("unpaired") for r in ranked):
        console.print(UNPAIRED.format(plugin=plugin), soft_wrap=True, markup=False)
    # with --split, the out-of-sample table below is that check
    below = "; the table below checks it" if split and "not_tested" not in split else ""
    console.print(OVERFIT + (below if split else SPLIT_HINT), soft_wrap=True, markup=False)
    if ranked:
        _print_notes(console, "the best row's runs", ranked[0])
    if split and "not_tested" in split:
        console.print(
            f"\nout of sample ({rest}): not tested: {split['not_tested']}",
            soft_wrap=True,
            markup=False,
        )
    elif split:
        console.print()
        console.print(built[1])
        if any(r.figures.get("unpaired") for _, r in tested):
            console.print(UNPAIRED.format(plugin=plugin), soft_wrap=True, markup=False)
        for label, row in tested:
            if not row.figures.get("pairs"):
                console.print(
                    f"{label}: no entry to pair on these bars, so nothing to judge it by "
                    "(a longer held-out part, a smaller --split, may have some)",
                    soft_wrap=True,
                    markup=False,
                )
        if tested:
            _print_notes(console, "the chosen setting's runs on them", tested[0][1])


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def _print_notes(console: Any, whose: str, row: Row) -> None:
    """The plugins' and the host's notes under a row's runs: a sweep in which a plugin
    lacked a signal, or never reached its server, says so as the A/B does. As plain text,
    not rich markup: a note's ``[host.paper.symbols.NAME]`` is words, not a style tag."""
    for text in row.warnings:  # figures to doubt first, as the A/B says them over its table
        console.print(f"WARNING ({whose}): {text}", soft_wrap=True, markup=False)
    for text in row.notes:
        console.print(f"note ({whose}): {text}", soft_wrap=True, markup=False)
