"""Loading bars from CSV files: a generic format and MetaTrader's history export.

Generic (comma-separated, header required, columns in any order, names case-insensitive)::

    time,open,high,low,close,volume[,spread]

``time`` is ISO 8601 (``2024-01-02T00:05:00Z``, an offset is converted to UTC),
``YYYY-MM-DD HH:MM[:SS]`` or epoch seconds; a time without an offset is UTC. ``spread`` is
in price units, like :attr:`hookspecs.Bar.spread`.

MetaTrader's export (tab-separated, detected by a first header cell ``<DATE>``)::

    <DATE>  <TIME>  <OPEN>  <HIGH>  <LOW>  <CLOSE>  <TICKVOL>  <VOL>  <SPREAD>

with dates ``2024.01.02`` and times ``00:05:00`` (``<TIME>`` is absent in a D1 export:
midnight). MetaTrader writes the broker's server time; it is taken as UTC. The volume is
``<TICKVOL>`` (``<VOL>``, real volume, is 0 for forex and metals). ``<SPREAD>`` is in
points and is converted to price units with ``symbol_info.point`` when given; otherwise the
point is inferred from the prices, which MetaTrader writes with the symbol's digits
(``2035.12`` → 0.01, ``1.10423`` → 0.00001), taking the most decimals seen in the file.

pandas' ``DataFrame.to_csv`` (so a yfinance download saved with it), detected by a first
header cell that is empty, ``Date`` or ``Datetime`` (any case)::

    Date,Open,High,Low,Close,Adj Close,Volume

columns in any order and any case; ``Adj Close`` (and the ``Dividends``, ``Stock Splits`` and
``Capital Gains`` of ``Ticker.history``) are ignored, ``Volume`` may be absent (0) or a float.
Dates are ``2024-01-02`` (midnight) or ``2024-01-02 09:30:00-05:00``; an offset is converted
to UTC, a time without one is UTC. Newer yfinance writes a two-level header, ``Price,...``
then ``Ticker,EURUSD=X,...`` then ``Date,,,...``: the two extra rows are skipped. A row with
no prices at all is how pandas writes a missing bar (NaN): it is skipped.

Any problem raises :class:`CsvError` naming the file and the line, never a traceback from
inside the parser: a bad number, a high below the low, a missing column, unsorted or
duplicate times, an empty file.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from hookspecs import Bar, DataError, SymbolInfo, Timeframe

from .timeframes import from_epoch

GENERIC_COLUMNS = ("time", "open", "high", "low", "close", "volume")
MT5_REQUIRED = ("<DATE>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<TICKVOL>")
MT5_OPTIONAL = ("<TIME>", "<VOL>", "<SPREAD>")
PANDAS_INDEX = ("", "date", "datetime")
PANDAS_REQUIRED = ("open", "high", "low", "close")
PANDAS_OPTIONAL = ("volume", "adj close", "dividends", "stock splits", "capital gains")


#: the period in a MetaTrader export's file name: a timeframe, or the word it writes for
#: D1, W1 and MN1
_EXPORT_PERIODS = {*Timeframe.__members__, "DAILY", "WEEKLY", "MONTHLY"}


def symbol_of_file(path: str | Path) -> str:
    """The symbol a data file is named for: its name without the extension, and without
    what MetaTrader's history export appends to it (``XAUUSD_M5_202401020000_202412312355``
    or ``XAUUSD_Daily_…`` → ``XAUUSD``: the period, then the first and last bar's times),
    so the known rules of that symbol apply. Any other name is the symbol as it stands
    (``BTC-USD``, ``my_data``)."""
    stem = Path(path).stem
    parts = stem.split("_")
    while len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) >= 8:
        parts.pop()  # a time stamp: 202401020000
    if len(parts) > 1 and parts[-1].upper() in _EXPORT_PERIODS:
        parts.pop()
    return "_".join(parts)


class CsvError(ValueError):
    """A CSV file cannot be loaded. ``line`` is 1-based; 0 when about the whole file."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


def load_csv(path: str | Path, *, symbol_info: SymbolInfo | None = None) -> list[Bar]:
    """Bars from ``path``, oldest first; the format is detected from the header line."""
    rows = list(_rows(path))
    if not rows:
        raise CsvError(path, 0, "the file is empty (a header line is required)")
    header_line, header = rows[0]
    first = header[0].lower() if header else ""
    if first == "<date>":
        bars = _load_mt5(path, rows, symbol_info)
    elif first in PANDAS_INDEX or (first == "price" and _yfinance_levels(rows)):
        bars = _load_pandas(path, rows)
    else:
        bars = _load_generic(path, rows)
    if not bars:
        raise CsvError(path, header_line, "no bars after the header")
    return bars


def _rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line; the delimiter is a tab when the first
    line has one, else a comma. UTF-16 (with its byte order mark) is accepted too, as older
    MetaTrader builds wrote it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CsvError(path, 0, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(path, 0, f"not UTF-8 or UTF-16 text ({exc.reason})") from None
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(lines, delimiter=delimiter)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv.field_size_limit(), a NUL byte
            raise CsvError(path, reader.line_num or number + 1, f"not a CSV line: {exc}") from None
        number += 1
        if cells and any(c.strip() for c in cells):
            yield number, [c.strip() for c in cells]


def _columns(
    path: str | Path,
    line: int,
    header: list[str],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> dict[str, int]:
    norm = [h.upper() if h.startswith("<") else h.lower() for h in header]
    index: dict[str, int] = {}
    for i, name in enumerate(norm):
        if name in index:
            raise CsvError(path, line, f"column {header[i]!r} appears twice")
        if name not in required and name not in optional:
            known = ", ".join(required + optional)
            raise CsvError(path, line, f"unknown column {header[i]!r} (expected {known})")
        index[name] = i
    missing = [c for c in required if c not in index]
    if missing:
        raise CsvError(
            path, line, f"missing column(s) {', '.join(missing)} in header {','.join(header)!r}"
        )
    return index


def _number(path: str | Path, line: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CsvError(path, line, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CsvError(path, line, f"{name} {text!r} is not a finite number")
    return value


_OHLC = ("open", "high", "low", "close")
_MT5_OHLC = ("<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>")


def _ohlc(path: str | Path, line: int, texts: list[str]) -> tuple[float, float, float, float]:
    o, h, low, c = (_number(path, line, n, t) for n, t in zip(_OHLC, texts, strict=True))
    return o, h, low, c


def _cell(path: str | Path, line: int, cells: list[str], index: dict[str, int], name: str) -> str:
    i = index[name]
    if i >= len(cells) or cells[i] == "":
        raise CsvError(path, line, f"missing value for {name.strip('<>').lower()}")
    return cells[i]


def parse_time(text: str) -> datetime:
    """ISO 8601, ``YYYY-MM-DD HH:MM[:SS]`` or epoch seconds, to an aware UTC datetime."""
    t = text.strip()
    if t.replace(".", "", 1).isdigit():
        return from_epoch(float(t) if "." in t else int(t))
    dt = datetime.fromisoformat(t)  # 3.11 accepts "Z", a space separator and HH:MM
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _looks_like_time(text: str) -> bool:
    try:
        parse_time(text)
    except (ValueError, OverflowError):
        return False
    return True


def _bar(
    path: str | Path,
    line: int,
    time: datetime,
    ohlc: tuple[float, float, float, float],
    volume: float,
    spread: float,
) -> Bar:
    o, h, low, c = ohlc
    for name, value in zip(_OHLC, ohlc, strict=True):
        if value <= 0:
            raise CsvError(path, line, f"{name} {value:g} is not a positive price")
    if h < low:
        raise CsvError(path, line, f"high {h:g} is below low {low:g}")
    if h < max(o, c):
        raise CsvError(path, line, f"high {h:g} is below open {o:g} or close {c:g}")
    if low > min(o, c):
        raise CsvError(path, line, f"low {low:g} is above open {o:g} or close {c:g}")
    if volume < 0:
        raise CsvError(path, line, f"volume {volume:g} is negative")
    if spread < 0:
        raise CsvError(path, line, f"spread {spread:g} is negative")
    try:
        return Bar(time, o, h, low, c, volume, spread)
    except DataError as exc:  # pragma: no cover - the checks above come first
        raise CsvError(path, line, str(exc)) from None


def _check_order(path: str | Path, line: int, time: datetime, previous: datetime | None) -> None:
    if previous is None:
        return
    if time == previous:
        raise CsvError(path, line, f"duplicate time {time.isoformat()}")
    if time < previous:
        raise CsvError(
            path,
            line,
            f"time {time.isoformat()} is before the previous line's {previous.isoformat()} "
            "(rows must be sorted oldest first)",
        )


def _load_generic(path: str | Path, rows: list[tuple[int, list[str]]]) -> list[Bar]:
    header_line, header = rows[0]
    if header and _looks_like_time(header[0]):
        raise CsvError(
            path,
            header_line,
            f"no header line: the first line must name the columns, e.g. "
            f"{','.join(GENERIC_COLUMNS)}[,spread]",
        )
    index = _columns(path, header_line, header, GENERIC_COLUMNS, ("spread",))
    bars: list[Bar] = []
    previous: datetime | None = None
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        text = _cell(path, line, cells, index, "time")
        try:
            time = parse_time(text)
        except (ValueError, OverflowError):
            raise CsvError(
                path,
                line,
                f"time {text!r} is not ISO 8601, 'YYYY-MM-DD HH:MM[:SS]' or epoch seconds",
            ) from None
        _check_order(path, line, time, previous)
        previous = time
        ohlc = _ohlc(path, line, [_cell(path, line, cells, index, n) for n in _OHLC])
        volume = _number(path, line, "volume", _cell(path, line, cells, index, "volume"))
        spread = 0.0
        if "spread" in index:
            spread = _number(path, line, "spread", _cell(path, line, cells, index, "spread"))
        bars.append(_bar(path, line, time, ohlc, volume, spread))
    return bars


def _decimals(text: str) -> int:
    head, _, frac = text.partition(".")
    return len(frac) if head.lstrip("-").isdigit() and frac.isdigit() else 0


def _load_mt5(
    path: str | Path, rows: list[tuple[int, list[str]]], symbol_info: SymbolInfo | None
) -> list[Bar]:
    header_line, header = rows[0]
    index = _columns(path, header_line, header, MT5_REQUIRED, MT5_OPTIONAL)
    parsed: list[tuple[int, datetime, tuple[float, float, float, float], float, float]] = []
    previous: datetime | None = None
    digits = 0
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        date_text = _cell(path, line, cells, index, "<DATE>")
        time_text = _cell(path, line, cells, index, "<TIME>") if "<TIME>" in index else "00:00"
        try:
            time = datetime.strptime(f"{date_text} {time_text}", "%Y.%m.%d %H:%M:%S")
        except ValueError:
            try:
                time = datetime.strptime(f"{date_text} {time_text}", "%Y.%m.%d %H:%M")
            except ValueError:
                raise CsvError(
                    path,
                    line,
                    f"date/time {date_text!r} {time_text!r} is not 'YYYY.MM.DD' 'HH:MM[:SS]'",
                ) from None
        time = time.replace(tzinfo=UTC)
        _check_order(path, line, time, previous)
        previous = time
        texts = [
            _cell(path, line, cells, index, n) for n in ("<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>")
        ]
        ohlc = _ohlc(path, line, texts)
        digits = max(digits, *(_decimals(t) for t in texts))
        volume = _number(path, line, "tickvol", _cell(path, line, cells, index, "<TICKVOL>"))
        spread_points = 0.0
        if "<SPREAD>" in index:
            spread_points = _number(
                path, line, "spread", _cell(path, line, cells, index, "<SPREAD>")
            )
        parsed.append((line, time, ohlc, volume, spread_points))
    point = symbol_info.point if symbol_info is not None else 10.0**-digits
    return [
        _bar(path, line, time, ohlc, volume, round(points * point, 10))
        for line, time, ohlc, volume, points in parsed
    ]


def _yfinance_levels(rows: list[tuple[int, list[str]]]) -> int:
    """How many of the lines after the header are yfinance's extra header levels: a
    ``Ticker,EURUSD=X,...`` line, then a ``Date,,,...`` line naming the index (0 to 2)."""
    n = 0
    for _, cells in rows[1:3]:
        head = cells[0].lower()
        if head == "ticker" or (head in PANDAS_INDEX and not any(cells[1:])):
            n += 1
        else:
            break
    return n


def _load_pandas(path: str | Path, rows: list[tuple[int, list[str]]]) -> list[Bar]:
    header_line, header = rows[0]
    named = _columns(path, header_line, header[1:], PANDAS_REQUIRED, PANDAS_OPTIONAL)
    index = {name: i + 1 for name, i in named.items()}  # column 0 is the date index
    prices = [index[n] for n in PANDAS_REQUIRED]
    volume_at = index.get("volume")
    bars: list[Bar] = []
    previous: datetime | None = None
    for line, cells in rows[1 + _yfinance_levels(rows) :]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        texts = [cells[i] if i < len(cells) else "" for i in prices]
        if not any(texts):
            continue  # pandas writes a NaN bar (a closed market) as empty cells
        try:
            time = parse_time(cells[0])
        except (ValueError, OverflowError):
            raise CsvError(
                path,
                line,
                f"date {cells[0]!r} is not 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS[+HH:MM]'",
            ) from None
        _check_order(path, line, time, previous)
        previous = time
        for name, text in zip(PANDAS_REQUIRED, texts, strict=True):
            if not text:
                raise CsvError(path, line, f"missing value for {name}")
        ohlc = _ohlc(path, line, texts)
        volume = 0.0
        if volume_at is not None and volume_at < len(cells) and cells[volume_at]:
            volume = _number(path, line, "volume", cells[volume_at])
        bars.append(_bar(path, line, time, ohlc, volume, 0.0))
    return bars
