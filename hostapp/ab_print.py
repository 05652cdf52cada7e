"""The A/B's report on the terminal: the side-by-side table and the plugins' and the
host's sentences under it (:func:`hostapp.ab.compare_command` and the comparison ``hostapp
run`` ends with print it through :func:`print_comparison`).

The sentences are printed as plain text, not rich markup: they are the plugins' own words
and the host's, and a bracketed part of one (``a [host.paper.symbols.NAME] table``) was
read as a style tag and vanished from the terminal while ``summary.json`` kept it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .compare import comparison_table


def print_comparison(summary: Mapping[str, Any], *, json_out: bool = False) -> None:
    """The side-by-side table (rich) and the plugins' notes; JSON instead with
    ``json_out``."""
    if json_out:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    from rich.console import Console

    console = Console(width=max(100, Console().width), highlight=False)
    if summary["interrupted"]:
        console.print(f"interrupted: {stopped_runs(summary)}", soft_wrap=True, markup=False)
    for line in summary.get("warnings", []):
        console.print(f"WARNING: {line}", soft_wrap=True, markup=False)
    console.print(comparison_table(summary))
    for line in summary.get("notes", []):
        console.print(f"note: {line}", soft_wrap=True, markup=False)


def stopped_runs(summary: Mapping[str, Any]) -> str:
    """Where each run of an interrupted comparison got: their columns cover different
    spans of the bars, which the table alone does not show."""
    runs = [("without", summary["same_entries"]["without"])]
    runs.append(("with, same entries", summary["same_entries"]["with"]))
    if "full" in summary:
        runs.append(("with, full", summary["full"]["with"]))
    got = ", ".join(f"{label} {run.get('bars', 0):,} bars" for label, run in runs)
    return (
        f"the runs stopped part-way ({got}): the columns below cover different spans of "
        "the data, so they do not compare; run it to the end for an A/B"
    )
