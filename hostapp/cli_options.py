"""The types of the command line's options (``--days``, ``--port``, …) for argparse: a
value out of range is argparse's one ``error:`` line naming the option, exit code 2,
the same for every command that takes the option (``hostapp run`` and ``serve``, and
``dtms serve``, which is the host's serve mode)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import DEFAULT_COMPARE
from .data import MAX_DAYS


def days(text: str) -> int:
    """``--days``: a whole number of days, 1 to :data:`~hostapp.data.MAX_DAYS` (a hundred
    years). One type for ``run``, ``serve`` and ``dtms serve``: serve read a float, so
    ``1.5`` passed there and ``inf`` failed in a traceback, and a run of three million
    days failed past the calendar's end (year 9999)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of days from 1 to {MAX_DAYS:,}, got {text!r}"
        )
    return value


def port(text: str) -> int:
    """``--port``: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text}")
    return port


def speed(text: str) -> float:
    """``--speed``: how many times faster than real time, a number more than 0."""
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < speed < float("inf"):  # NaN too
        raise argparse.ArgumentTypeError(f"expected a number more than 0, got {text}")
    return speed


def jobs(text: str) -> int:
    """``--jobs``: how many runs at once, at least 1."""
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of runs, got {text!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text}")
    return jobs


def fraction(text: str) -> float:
    """``--split``: a fraction strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.7, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text}")
    return value


def compare_name_or_data(args: argparse.Namespace) -> None:
    """``--compare`` takes an optional plugin name; a CSV file right after it (``replay
    --compare data.csv``) is data, not a name."""
    name = args.compare
    if name and (name.lower().endswith(".csv") or Path(name).is_file()):
        args.data = [name, *args.data]
        args.compare = DEFAULT_COMPARE
