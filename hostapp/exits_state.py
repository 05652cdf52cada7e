"""What the exit manager (:mod:`hostapp.exits`) remembers of each trade, and the file a
live or serving host keeps it in across restarts (``<data_dir>/exits/trades.json``): after
a restart the stop may sit at breakeven already, and a trade's R can no longer be read
from it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hookspecs import ActionKind, Trade


@dataclass
class Managed:
    """What the manager remembers of one trade between cycles."""

    risk: float  # R in price units: |entry - initial stop|
    seq: int = 0  # numbers this trade's actions, for unique idempotency keys
    partial_done: bool = False
    held: tuple[str, ...] = ()  # what it wanted when last held back (reported once)


#: Per managed ticket, what a pass may move: the actions sent, the partial done.
Progress = dict[int, tuple[int, bool]]


@dataclass(frozen=True, slots=True)
class Due:
    """What the rules want sent for one trade in this pass."""

    managed: Managed
    pos: Trade
    gain_r: float
    new_stop: tuple[ActionKind, float] | None
    wants_partial: bool


def write_managed(path: Path, trades: Mapping[int, Managed]) -> None:
    """``trades`` into ``path``, replaced whole so a crash mid-write leaves the previous
    version (what was held back is not kept: it is said again after a restart).
    Raises OSError."""
    rows = {str(t): dataclasses.asdict(m) | {"held": []} for t, m in trades.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(rows), encoding="utf-8")
    partial.replace(path)


def read_managed(path: Path) -> dict[int, Managed]:
    """The trades ``path`` keeps (the keys of :class:`Managed` it knows). Raises
    FileNotFoundError when there is none, and OSError, ValueError, TypeError or
    AttributeError when it is not this layout (no risk, or one that is no positive
    number, included)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    # a key this version does not know (a newer version's) is left out, not a failure:
    # the file would be refused, and its trades' R lost at the next save
    known = {f.name for f in dataclasses.fields(Managed)} - {"held"}
    loaded = {
        int(t): Managed(**{k: v for k, v in m.items() if k in known}) for t, m in rows.items()
    }
    for managed in loaded.values():
        if not (isinstance(managed.risk, int | float) and math.isfinite(managed.risk)):
            raise ValueError(f"risk {managed.risk!r} is not a number")
        if managed.risk <= 0:
            raise ValueError(f"risk {managed.risk!r} is not positive")
    return loaded
