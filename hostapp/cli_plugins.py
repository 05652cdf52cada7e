"""``hostapp plugins``: every plugin with its source, hooks and status, checked as
``hostapp run`` would check it, as a table or JSON (README, "Using it"). Split from
:mod:`hostapp.cli`, which builds the commands."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from .errors import EXIT_USAGE

#: The listing's words for a status where the data's one word would mislead.
_STATUS = {"optional": "not enabled (optional)"}


def plugins_command(args: argparse.Namespace) -> int:
    """Every known plugin with its status, after checking each enabled one as ``hostapp
    run`` would (its import, its registration, its settings through its ``configure``):
    a plugin that cannot run is listed as failed with why, every other one still listed,
    and the command then says each in one line on stderr and exits 2. Only a mistake
    of the configuration itself (``[plugins]``, ``[host]``) stops it before the list."""
    from .config import load_config
    from .data_table import check_data_table
    from .loader import cannot_run
    from .report import RECORDER_NAME
    from .table_reads import warn_unread

    config = load_config(args.config)
    check_data_table(config)  # as hostapp run would: [host] data against [host] symbols
    # The listing reports errors itself; keep the loader's log lines off the terminal.
    logging.getLogger("hostapp.plugins").addHandler(logging.NullHandler())
    logging.getLogger("hostapp.plugins").propagate = False
    with _throwaway_host(config) as (plugins, host):
        refused = plugins.configure_each(host)  # said with file and table, as run says it
        warn_unread(config, plugins, host.table_reads)  # a key no configure read, as run
        # the host's own recorder is no plugin; a plugin of that name is listed, failed
        rows = [r for r in plugins.listing() if r.name != RECORDER_NAME or r.status == "failed"]
        warnings = list(plugins.config_warnings)
    problems = [str(refused.get(r.name) or cannot_run(r)) for r in rows if r.status == "failed"]
    if args.json:  # the rows alone on stdout: a warning of no row's is said on stderr
        print(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    else:
        _print_table(rows)
        for warning in warnings:
            print(f"warning: {warning}")
    sys.stdout.flush()
    if args.json:
        for warning in warnings:
            print(f"{args.prog}: warning: {warning}", file=sys.stderr)
    for line in problems:
        print(f"{args.prog}: {line}", file=sys.stderr)
    return EXIT_USAGE if problems else 0


def _print_table(rows: Sequence[Any]) -> None:
    table = [("NAME", "SOURCE", "VERSION", "STATUS", "HOOKS")]
    table += [
        (
            r.name,
            r.source,
            r.version or "-",
            _STATUS.get(r.status, r.status),
            ", ".join(r.hooks) or "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[4]
        )
    for r in rows:
        if r.error and r.status != "failed":  # a failure is said once, on stderr, after it
            print(f"{r.name}: {r.error}")
        for warning in r.warnings:
            print(f"{r.name}: warning: {warning}")


@contextlib.contextmanager
def _throwaway_host(config: Any) -> Iterator[tuple[Any, Any]]:
    """The plugins and host ``hostapp run`` would build, on a throwaway paper host (a day
    of bars of the configured symbols, each plugin's state in a temporary folder): every
    plugin loaded and listed, the failed ones too, and none configured yet. Nothing else
    is called on them, neither ``startup`` nor ``shutdown`` (a plugin whose shutdown says
    "host stopped" somewhere would say it at every listing): what a ``configure`` opened
    closes with this process (docs/plugins.md, "Enabling and disabling plugins")."""
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    from . import app as appmod
    from .market.synthetic import generate_bars

    timeframe = config.host.timeframe
    start = datetime(2024, 1, 1, tzinfo=UTC)
    series = {s: generate_bars(s, start, 3, timeframe=timeframe) for s in config.host.symbols}
    with tempfile.TemporaryDirectory(prefix="hostapp-plugins-", ignore_cleanup_errors=True) as root:
        checked = appmod.with_data_root(config, Path(root))
        app = appmod.build_sim_app(checked, series, base_timeframe=timeframe, listing=True)
        yield app.plugins, app.host
