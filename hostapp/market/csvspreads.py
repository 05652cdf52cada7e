"""The note on a file whose spread column holds 0 on every bar.

Why: :attr:`hookspecs.Bar.spread` is 0 both for a file without spreads and for a 0 in
its column, so the paper broker tells them apart by the series as a whole
(:func:`hostapp.brokers.paper_rules.symbols_with_spreads`): a column with spreads on some
bars keeps its 0s as 0 (a raw account's), while a column of 0 on every bar (an exporter
that writes 0 for a spread it does not know) is read as no spread, and the assumed one is
charged. Only the loader sees the column, so it says so, naming the setting that trades
such a file at bid = ask (README "hostapp replay").
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
    ``unread``) and every one of its ``bars`` has a spread of 0; else ``None``."""
    read = [h for h in header if h.strip().lower() in SPREAD_COLUMNS and h not in unread]
    if not read or any(b.spread for b in bars):
        return None
    name = symbol or "NAME"
    return (
        f"{path}: its {read[0].strip()} column is 0 on all {len(bars):,} bars, read as no "
        "spread: the paper broker charges the one it assumes (the costs note says which); "
        "a file whose column has spreads on other bars keeps its 0s as 0, and "
        f"[host.paper.symbols.{name}] spread = 0 in plugins.toml trades this one at bid = "
        "ask, as a raw account's 0 is"
    )
