"""Files of different bar spacings in one replay (``hostapp replay EURUSD_M5.csv
XAUUSD_H1.csv --timeframe H1``): the finer ones are resampled up to the coarsest, so the
feed has one base timeframe (docs/architecture.md §8).

Only when ``--timeframe`` says so: resampling a file's M5 bars to H1 changes how it
trades (its stops are checked against H1 bars), which a replay must not do unasked. Without
it, the refusal names the flag that would replay them together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hookspecs import Bar, ConfigError

from .market.resample import check_timeframes, resample
from .market.timeframes import timeframe_seconds

#: ``(file, symbol, bars)``, as ``hostapp replay`` reads its files.
ReplayFile = tuple[str, str, list[Bar]]


def to_one_spacing(
    files: Sequence[ReplayFile],
    spacings: Mapping[str, str],
    wanted: str | None,
    notes: list[str],
) -> tuple[list[ReplayFile], str]:
    """``(files, base)``: ``files`` with each one's bars at ``base``, the coarsest of
    ``spacings`` (each file's bar spacing). ``wanted`` is ``--timeframe``; ``notes`` gets
    one line per file resampled. A ConfigError when the spacings cannot be joined."""
    if len(set(spacings.values())) == 1:
        return list(files), next(iter(spacings.values()))
    coarsest, widest = max(
        ((s, p) for p, s in spacings.items()), key=lambda sp: timeframe_seconds(sp[0])
    )
    for path, spacing in spacings.items():
        try:
            check_timeframes(coarsest, spacing)
        except ValueError:
            raise ConfigError(
                f"{path} has {spacing} bars but {widest} has {coarsest} bars, which cannot be "
                f"made of {spacing} bars: replay them apart"
            ) from None
    if wanted is None:
        finer = next(p for p, s in spacings.items() if s != coarsest)
        raise ConfigError(
            f"{finer} has {spacings[finer]} bars but {widest} has {coarsest} bars: to replay "
            f"them together, add --timeframe {coarsest} (or a multiple of it); the finer bars "
            "are then resampled up"
        )
    out: list[ReplayFile] = []
    for path, symbol, bars in files:
        spacing = spacings[path]
        if spacing != coarsest:
            bars = resample(bars, coarsest, base=spacing)
            notes.append(
                f"{path}: its {spacing} bars were resampled to {coarsest}, the spacing of "
                f"{widest}, to replay them together (--timeframe {wanted}); its stops and "
                f"targets are checked against {coarsest} bars"
            )
        out.append((path, symbol, bars))
    return out, coarsest
