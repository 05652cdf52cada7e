"""The header of a bar file: where the columns a layout reads are, which it leaves out,
and the mistakes in it that are refused (a column twice, one missing, one a letter off a
known name). :mod:`.csvdata` and :mod:`.csvexports` read every layout's header here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .csvrows import CsvError


def columns(
    path: str | Path,
    line: int,
    header: list[str],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    aliases: Mapping[str, str] | None = None,
    left_out: list[str] | None = None,
    hint: str = "",
    unread: tuple[str, ...] = (),
    whole: list[str] | None = None,
) -> dict[str, int]:
    """Where each named column is (``aliases``: other names a column goes by). A column
    of another name is not read: exports add their own (``amount``, TradingView's
    ``Volume MA``), and its name goes to ``left_out`` for the run to say. A
    :class:`CsvError` for a repeated or missing column, and for one a slip of the keyboard
    from a known name that is not there (``volumne``, ``clsoe``): left out, its values
    would be missing without a word. ``unread``: known names the layout leaves out
    (pandas' ``adj close``); another spelling of one, the same letters written together,
    with ``_`` or in camel case (``adjClose``, ``adj_close``, ``AdjClose``, as Tiingo and
    stockstats write it), is left out and named, not refused as a slip: its values are
    not read either way. ``hint`` ends the refusal of missing columns (what layouts are
    read, when no other layout is left to try). ``whole``: the file's header, quoted in
    that refusal, when ``header`` is only its columns after the time."""
    norm = [h.upper() if h.startswith("<") else h.lower() for h in header]
    known = {**{n: n for n in required + optional}, **(aliases or {})}
    index: dict[str, int] = {}
    unknown: list[int] = []
    for i, typed in enumerate(norm):
        name = known.get(typed)
        if name is None:
            unknown.append(i)
            continue
        if name in index:
            twice = header[index[name]]
            if twice.lower() == header[i].lower():
                raise CsvError(path, line, f"column {header[i]!r} appears twice")
            raise CsvError(path, line, f"columns {twice!r} and {header[i]!r} are both the {name}")
        index[name] = i
    spelled = {_letters(n) for n in unread}
    for i in unknown:
        if _letters(norm[i]) in spelled:
            continue  # a column the layout leaves out, spelled another way
        meant = next(
            (k for k, n in known.items() if n not in index and one_letter_off(norm[i], k)), None
        )
        if meant is not None:
            raise CsvError(
                path,
                line,
                f"column {header[i]!r} is one letter off {meant!r}: name it {meant}, or "
                "another name to leave it out",
            )
    missing = [c for c in required if c not in index]
    if missing:
        said = f"missing column(s) {', '.join(missing)} in header {','.join(whole or header)!r}"
        if "close" in missing and "price" in norm:  # Investing.com's export names it so
            said += f"; if {header[norm.index('price')]!r} is the close, name it close"
        if hint:
            said += f"; {hint}"
        raise CsvError(path, line, said)
    if left_out is not None:
        left_out.extend(header[i] for i in unknown if header[i])
    return index


#: a volume column named for an asset: CryptoDataDownload's ``Volume BTC`` and
#: ``Volume USDT``, Bitstamp's (Kaggle's) ``Volume_(BTC)`` and ``Volume_(Currency)``
_ASSET_VOLUME = re.compile(r"vol(?:ume)?(?:[ _]+\(?|\()(?P<asset>[a-z0-9]+)\)?")
#: what such a name ends in that is no base asset: TradingView's moving averages of the
#: volume, Bitstamp's quote currency
_NOT_BASE = frozenset({"ma", "sma", "ema", "currency", "quote"})


#: CryptoCompare's name of the base asset's volume (``volumefrom``: the amount of the
#: pair's "from" symbol traded, BTC of BTC/USD; its ``volumeto`` is the quote's), which
#: the files written from its API keep (Bitfinex's hourly history: ``VolumeFrom``)
_FROM_VOLUME = "volumefrom"


def base_volume(header: list[str]) -> str | None:
    """The column read as the volume of a header without one named ``volume``: the first
    named for an asset (``Volume BTC`` before ``Volume USDT``), as the files that name
    their volumes so (CryptoDataDownload's, Bitstamp's) write the base asset's first, and
    the base asset's is the volume a bar's volume is everywhere else (Binance's klines,
    ccxt); or CryptoCompare's ``VolumeFrom``, the base asset's by its API's definition.
    ``None`` when the header has a ``volume`` or no such column."""
    if any(h.lower() == "volume" for h in header):
        return None
    for name in header:
        if _letters(name) == _FROM_VOLUME:
            return name
        found = _ASSET_VOLUME.fullmatch(name.lower())
        if found is not None and found["asset"] not in _NOT_BASE:
            return name
    return None


def base_volume_why(name: str) -> str:
    """Why :func:`base_volume` read column ``name`` as the volume, for the run's notes."""
    if _letters(name) == _FROM_VOLUME:
        return "CryptoCompare's volume of the base asset; its VolumeTo is the quote's"
    return (
        "the first one named for an asset is read, the base asset's in the files that write them so"
    )


def _letters(name: str) -> str:
    """``name``'s letters and digits alone, lower case (``adj_close`` → ``adjclose``)."""
    return "".join(c for c in name.lower() if c.isalnum())


def one_letter_off(typed: str, name: str) -> bool:
    """Whether ``typed`` is ``name`` with one letter wrong, missing or added, or two
    letters swapped."""
    if typed == name or abs(len(typed) - len(name)) > 1:
        return False
    if len(typed) == len(name):
        wrong = [i for i, (a, b) in enumerate(zip(typed, name, strict=True)) if a != b]
        if len(wrong) == 1:
            return True
        i = wrong[0]
        return wrong == [i, i + 1] and typed[i] == name[i + 1] and typed[i + 1] == name[i]
    short, longer = sorted((typed, name), key=len)
    return any(longer[:i] + longer[i + 1 :] == short for i in range(len(longer)))


def left_out_note(left_out: Mapping[str, Sequence[str]]) -> str | None:
    """One sentence naming the columns :func:`load_csv` did not read, per file (``file →
    their names``); files that left out the same ones share a clause. ``None`` when
    every column was read. A run says it once: its results do not show that a column
    of the user's was not used."""
    by_names: dict[tuple[str, ...], list[str]] = {}
    for path, names in left_out.items():
        if names:
            by_names.setdefault(tuple(names), []).append(str(path))
    if not by_names:
        return None
    return "; ".join(
        f"{', '.join(paths)}: columns left out: {', '.join(names)}"
        for names, paths in by_names.items()
    )
