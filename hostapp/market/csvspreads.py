"""The note on a file whose spread column holds 0 on some or all of its bars.

Why: :attr:`hookspecs.Bar.spread` is 0 both for a file without spreads and for a 0 in
its column, and the paper broker cannot tell them apart (a file without a spread column
joined to one with it reads as that file's 0s): it charges every such bar the spread it
assumes, the cautious reading. A raw account's MetaTrader export writes a real 0 on most
bars, though, and only the loader sees the column: it says so, naming the setting that
trades such bars at bid = ask (README "hostapp replay").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hookspecs import Bar

#: the names of a spread column in the layouts that read one (generic, MetaTrader's
#: Python API bars and its history export), lower-case
SPREAD_COLUMNS = frozenset({"spread", "spread_points", "<spread>"})


def zero_spreads_note(
    path: str | Path,
    header: Sequence[str],
    unread: Sequence[str],
    bars: Sequence[Bar],
    symbol: str | None,
) -> str | None:
    """The note on ``path`` when its header has a spread column that was read (not in
    ``unread``) and some of its ``bars`` have a spread of 0; else ``None``."""
    read = [h for h in header if h.strip().lower() in SPREAD_COLUMNS and h not in unread]
    if not read:
        return None
    zeros = sum(1 for b in bars if not b.spread)
    if not zeros:
        return None
    name = symbol or "NAME"
    share = f"all {len(bars):,}" if zeros == len(bars) else f"{zeros:,} of {len(bars):,}"
    return (
        f"{path}: its {read[0].strip()} column is 0 on {share} bars, read as no spread: the "
        "paper broker charges the one it assumes there (the costs note says which); a raw "
        f"account's 0s are real: [host.paper.symbols.{name}] spread = 0 in plugins.toml "
        "trades the bars without one at bid = ask"
    )
