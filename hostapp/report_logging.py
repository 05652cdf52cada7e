"""Where a ``hostapp`` command logs: its report folder's ``hostapp.log``, claimed for it.

Kept apart from :mod:`hostapp.runner`, whose commands call it first."""

from __future__ import annotations

import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from hookspecs import ConfigError

from .claims import Held, claim
from .driving import LOG_NAME
from .logs import ForTerminal, OneLine, ReportLog, RunLabel, formatter
from .report_files import keep_previous

#: In a report folder: held by the command writing there (:func:`_setup_logging`).
REPORT_LOCK = ".hostapp.lock"


def setup_logging(
    report: Path, held: ExitStack, json_lines: bool = False, *, live: bool = False
) -> ReportLog | None:
    """Everything from INFO up goes to ``<report>/hostapp.log``; only errors (and a
    plugin's load-time warnings, once: :class:`~hostapp.logs.ForTerminal`) reach the
    terminal, where the progress bar and the table are, one line each (a traceback is
    the log's: :class:`~hostapp.logs.OneLine`). Both in the shape of
    :func:`hostapp.logs.formatter` (``json_lines``: the events' ticket, symbol… as
    fields). A program that embeds the runner (tests) and has its own logging keeps it.

    The command first claims the folder (until ``held`` closes): a second command there
    while the first runs (a host started twice in one folder) is refused before it cuts
    the first one's log, which that one would go on writing at its old offset.

    A live run's log is held until its run starts (:mod:`hostapp.live_start`): a start
    refused appends to the log there (when ``held`` closes) and moves none aside.
    Returns the log file's handler (None for an embedding program's logging)."""
    try:
        report.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, a folder we may not write in, /proc
        why = "a file of that name is there" if report.is_file() else exc.strerror or exc
        raise ConfigError(f"--report {report}: cannot make the report folder: {why}") from None
    try:
        held.enter_context(claim(report / REPORT_LOCK))
    except Held as busy:
        raise ConfigError(
            f"--report {report}: another hostapp command writes its report there "
            f"({busy.holder}); wait for it to end, or give this one its own --report"
        ) from None
    except OSError as exc:
        raise ConfigError(f"--report {report}: cannot lock the folder: {exc}") from None
    root = logging.getLogger()
    if root.handlers:
        return None
    if not live:
        keep_previous(report / LOG_NAME, 1)
    to_file = ReportLog(str(report / LOG_NAME), json_lines, held=live)
    if live:
        held.callback(to_file.settle)
    to_err = logging.StreamHandler(sys.stderr)
    to_err.setFormatter(formatter(json_lines) if json_lines else OneLine())
    to_err.setLevel(logging.WARNING)
    to_err.addFilter(ForTerminal())  # errors, and a plugin's load-time warnings once
    for handler in (to_file, to_err):
        handler.addFilter(RunLabel())  # which run of an A/B or a sweep a line is of
    root.addHandler(to_file)
    root.addHandler(to_err)
    root.setLevel(logging.INFO)
    return to_file
