"""Reading a bar file's lines into cells: the encoding, the delimiter and a decimal comma
told from the file itself, so every format's loader (:mod:`.csvdata`, :mod:`.csvexports`)
gets the same cells whatever wrote the file."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from .csvrows import CsvError

#: a number written with a decimal comma, as spreadsheets in most of Europe save it, and
#: maybe a point between each three digits of its whole part (``1.821,72``)
_DECIMAL_COMMA = re.compile(r"-?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+")


def read_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line; the delimiter is a tab when the first
    line has one, a semicolon when it has more of them than commas, else a comma. In a
    semicolon-separated file a comma can only be a decimal one (``1,08523``, as a
    spreadsheet in most of Europe saves a file): such cells are read with a point, and
    a point in them is a thousands separator where it groups the digits by three
    (``1.821,72`` is 1821.72; ``1.82,72`` stays refused). UTF-16
    (with its byte order mark) is accepted too, as older MetaTrader builds wrote it."""
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
    delimiter = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
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
        number += 1
        if cells and any(c.strip() for c in cells):
            cells = [c.strip() for c in cells]
            if decimal_commas:
                cells = [_with_point(c) if _DECIMAL_COMMA.fullmatch(c) else c for c in cells]
            yield number, cells


def _with_point(text: str) -> str:
    """A number written with a decimal comma, and maybe points grouping its digits by
    three (``1.821,72``), as Python reads it (``1821.72``)."""
    return text.replace(".", "").replace(",", ".")
