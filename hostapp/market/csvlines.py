"""Reading a bar file's lines into cells: the encoding, the delimiter and a decimal comma
told from the file itself, so every format's loader (:mod:`.csvdata`, :mod:`.csvexports`)
gets the same cells whatever wrote the file."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from .csvrows import CsvError

#: a number written with a decimal comma, as spreadsheets in most of Europe save it, and
#: maybe a point between each three digits of its whole part (``1.821,72``)
_DECIMAL_COMMA = re.compile(r"-?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+")
#: the longest line read, in bytes: the csv module's own limit on a field (131,072), so a
#: line it could not read is refused before the rest of the file is: ``/dev/zero`` or a
#: multi-GB file without a line break would otherwise be read whole into memory first
MAX_LINE_BYTES = 128 * 1024
#: how much of the file is read at a time while the lines' lengths are checked
_CHUNK = 1 << 20
#: a line break (``\n``, or ``\r`` as old Mac files end lines) followed by a line longer
#: than the limit: where in a chunk that has one it is
_TOO_LONG = re.compile(rb"[\r\n][^\r\n]{%d}" % (MAX_LINE_BYTES + 1))

#: what a compressed file starts with: such a file is named for what it is, not for the
#: byte that is no UTF-8 (Binance's and HistData's downloads come zipped)
_PACKED = (
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "a zip archive"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
)
_UNPACK = {
    "gzip-compressed": "decompress it (gunzip)",
    "a zip archive": "extract the CSV file from it",
    "bzip2-compressed": "decompress it (bunzip2)",
    "xz-compressed": "decompress it (unxz)",
    "zstd-compressed": "decompress it (unzstd)",
}
#: a spreadsheet's workbook: a zip archive (Excel's ``.xlsx`` and ``.xlsm``,
#: LibreOffice's ``.ods``), or the older ``.xls``, which no unpacking makes a CSV file of
_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xltx", ".xls", ".ods"})
#: what the parts of a workbook's archive are named (Excel's, then OpenDocument's)
_WORKBOOK_PARTS = (b"xl/workbook", b"opendocument.spreadsheet")
#: the start of the older ``.xls`` (an OLE2 compound file)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line; the delimiter is a tab when the first
    line has one, a semicolon when it has more of them than commas, else a comma. In a
    semicolon-separated file a comma can only be a decimal one (``1,08523``, as a
    spreadsheet in most of Europe saves a file): such cells are read with a point, and
    a point in them is a thousands separator where it groups the digits by three
    (``1.821,72`` is 1821.72; ``1.82,72`` stays refused). UTF-16
    (with its byte order mark) is accepted too, as older MetaTrader builds wrote it.
    Excel's ``sep=,`` first line names the delimiter, and it and a web address before
    the header (CryptoDataDownload's) are not rows (:func:`_preamble`). A compressed file
    or a spreadsheet's workbook is refused naming what it is and what to make of it."""
    raw = read_capped(path)
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if _workbook(path, raw):
            raise CsvError(
                path, 0, "a spreadsheet workbook, not text: open it in the spreadsheet and "
                "save the sheet of bars as CSV (Save As, CSV), then replay that file",
            ) from None  # fmt: skip
        packed = next((name for magic, name in _PACKED if raw.startswith(magic)), None)
        if packed is not None:
            raise CsvError(path, 0, f"{packed}, not text: {_UNPACK[packed]} first") from None
        raise CsvError(path, 0, f"not UTF-8 or UTF-16 text ({exc.reason})") from None
    lines = text.splitlines()
    told = _preamble(lines)
    first = next((ln for ln in lines if ln.strip()), "")
    delimiter = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
    delimiter = told or delimiter
    decimal_commas = delimiter == ";"
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv.field_size_limit(), a NUL byte
            raise CsvError(path, reader.line_num or number + 1, f"not a CSV line: {exc}") from None
        if reader.line_num > number + 1:  # one row read from several lines: see _UNCLOSED
            raise CsvError(path, number + 1, _UNCLOSED)
        number += 1
        if cells and any(c.strip() for c in cells):
            cells = [c.strip() for c in cells]
            if decimal_commas:
                cells = [_with_point(c) if _DECIMAL_COMMA.fullmatch(c) else c for c in cells]
            yield number, cells


#: why a row read across line breaks is refused: a bar is one line, and a cell whose quote
#: no quote closes (a stray ``"``) made the csv module read every later line into it,
#: which the loader then dropped as one cut-off last line (1,000 bars lost, "line 5001"
#: said)
_UNCLOSED = (
    'a quote (") opens a cell that no quote closes on its line: every line after it '
    "would be read into that cell; remove the stray quote"
)


#: Excel's first line naming the delimiter (``sep=,``, ``sep=;``), which it writes and reads
_SEP_LINE = re.compile(r"sep=(?P<delimiter>[,;\t|])", re.IGNORECASE)
#: a web address, a cell of a line before the header: CryptoDataDownload's files start
#: with theirs, alone or (its older files) after ``Timestamps are UTC timezone``
_URL = re.compile(r"(?:https?://|www\.)[^\s,;]+", re.IGNORECASE)


def _preamble(lines: list[str]) -> str | None:
    """Blank out the lines some files have before their header (``lines`` is changed,
    so the line numbers after stay the file's): Excel's ``sep=,`` and a line with a web
    address for a cell, as CryptoDataDownload starts its files with
    ``https://www.CryptoDataDownload.com`` (its older ones with ``Timestamps are UTC
    timezone,https://www.CryptoDataDownload.com``): no header has one. The delimiter a
    ``sep=`` line names, else ``None``."""
    told = None
    for i, text in enumerate(lines[:3]):
        line = text.strip()
        if not line:
            continue
        sep = _SEP_LINE.fullmatch(line)
        if sep is not None and told is None:
            told = sep["delimiter"]
        elif not any(_URL.fullmatch(cell.strip()) for cell in re.split(r"[,;\t]", line)):
            break
        lines[i] = ""
    return told


def _workbook(path: str | Path, raw: bytes) -> bool:
    """Whether ``raw`` is a spreadsheet's workbook (``.xlsx``, ``.xlsm``, ``.ods``,
    ``.xls``): a zip archive named so or holding a workbook's parts, or the older OLE2
    file named so. Told apart from a zip of CSV files, whose fix is to extract one."""
    named = Path(path).suffix.lower() in _WORKBOOK_SUFFIXES
    if raw.startswith(b"PK\x03\x04"):
        return named or any(part in raw for part in _WORKBOOK_PARTS)
    return named and raw.startswith(_OLE2)


def _with_point(text: str) -> str:
    """A number written with a decimal comma, and maybe points grouping its digits by
    three (``1.821,72``), as Python reads it (``1821.72``)."""
    return text.replace(".", "").replace(",", ".")


def read_capped(path: str | Path) -> bytes:
    """The bytes of ``path``, read a chunk at a time and refused at the first line longer
    than :data:`MAX_LINE_BYTES` (its number counted in ``\\n``), however long the file:
    a bar file's lines are short, and no such line could be read anyway."""
    parts: list[bytes] = []
    run = 0  # bytes since the last line break, in the chunks before
    breaks = 0  # "\n" in the chunks before: the line the run is on is breaks + 1
    try:
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                firsts = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
                head = min(firsts, default=len(chunk))  # the end of the run from before
                if run + head > MAX_LINE_BYTES:
                    _too_long(path, breaks + 1)
                if max(map(len, chunk.splitlines())) > MAX_LINE_BYTES:  # inside, or its tail
                    found = _TOO_LONG.search(chunk, head)
                    at = found.start() + 1 if found else 0
                    _too_long(path, breaks + chunk.count(b"\n", 0, at) + 1)
                if head == len(chunk):
                    run += head
                else:
                    run = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
                breaks += chunk.count(b"\n")
                parts.append(chunk)
    except OSError as exc:
        raise CsvError(path, 0, f"cannot read the file: {exc.strerror or exc}") from None
    return b"".join(parts)


def _too_long(path: str | Path, line: int) -> NoReturn:
    raise CsvError(path, line, f"a line longer than {MAX_LINE_BYTES // 1024} KiB")
