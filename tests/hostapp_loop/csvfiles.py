"""Writing bars as the generic CSV format ``hostapp replay`` reads (tests and bench), and
a file of any text as a test writes one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hookspecs import Bar


def write_bars_csv(path: Path, bars: Sequence[Bar]) -> Path:
    lines = ["time,open,high,low,close,volume,spread"]
    lines += [
        f"{b.time.strftime('%Y-%m-%dT%H:%M:%SZ')},{b.open!r},{b.high!r},{b.low!r},"
        f"{b.close!r},{b.volume!r},{b.spread!r}"
        for b in bars
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_text(folder: Path, text: str, name: str = "data.csv") -> Path:
    """``text`` as ``folder/name`` (UTF-8): a data file exactly as a test spells it."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
