"""The report folder's files: ``summary.json`` and ``trades.csv`` written whole or not at
all, the charts'
file names (safe on every system), and clearing what an earlier command wrote there, so a
folder never mixes two commands' files."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from hookspecs import ConfigError


def write_whole(path: Path, write: Callable[[TextIO], object]) -> None:
    """``path`` as ``write`` writes it, whole or not at all: written beside it
    (``<name>.tmp``), then moved over it. A full disk leaves the earlier file, and neither
    a half-written nor an empty one (a ``trades.csv`` of 0 bytes beside the line saying
    it could not be written read as a run without trades). A failure names ``path``
    (Python's own error of a full disk names no file: it read as the output failing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as out:
            write(out)
        tmp.replace(path)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def write_json(path: Path, summary: Mapping[str, Any]) -> None:
    """``summary`` as ``path``, whole or not at all (:func:`write_whole`)."""
    text = json.dumps(summary, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"
    write_whole(path, lambda out: out.write(text))


def saved_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """``rows`` under ``columns`` as the CSV file ``path``, whole or not at all
    (:func:`write_whole`); else the line saying why it could not be written."""

    def write(out: TextIO) -> None:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)

    try:
        write_whole(path, write)
    except OSError as exc:
        return [f"cannot write {path}: {exc.strerror or exc}"]
    return []


#: The files a ``hostapp run`` or ``replay`` writes into its report folder under fixed
#: names; the charts are named in ``summary.json``'s ``charts``.
REPORT_FILES = ("summary.json", "trades.csv", "sweep.csv", "sweep.json")


#: What a chart's file name never holds: path separators, the characters Windows refuses
#: in a name, control characters
_NOT_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
#: Names Windows keeps for devices, whatever follows their first dot: ``PRN.png`` is the
#: printer (PRN is also a ticker)
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(10)]
)


def chart_file_name(symbol: str, taken: Collection[str] = ()) -> str:
    """The file name of ``symbol``'s price chart, always inside the report folder. A
    symbol is the user's text (``--symbol``, a CSV file's name): each character a path
    reads (``/``, ``\\``) or Windows refuses becomes ``_``, and leading dots and spaces go
    (no ``..``, no hidden file); ``../../x`` is ``_.._x.png``; a device's name on Windows
    gets a ``_`` (``PRN_.png``). A name in ``taken`` (two symbols that read the same) gets
    ``-2``, ``-3``..."""
    stem = _NOT_IN_NAMES.sub("_", symbol).lstrip(". ")[:100] or "chart"
    head, dot, tail = stem.partition(".")
    if head.rstrip(" ").upper() in _WINDOWS_DEVICES:
        stem = f"{head}_{dot}{tail}"
    name, n = f"{stem}.png", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.png"
    return name


def clear_report(folder: Path) -> list[str]:
    """Remove what an earlier command wrote into ``folder`` (and its ``compare/``), so the
    folder never mixes two commands' files: a sweep's ``sweep.csv`` beside the
    ``summary.json`` of another file's A/B, a chart of a symbol this run has not. Only
    files hostapp names: the fixed ones and the charts an earlier ``summary.json``
    lists, and those only when they are PNG images by name and by content (a summary
    listing ``notes.xlsx`` removed the user's spreadsheet); anything else in the folder is
    left alone. A file of one of the fixed names that hostapp did not write (a broker's
    ``trades.csv`` in a folder given as ``--report .``) is kept as ``<name>.1``, said in
    one line: it was removed or written over. Returns what was removed; a file that
    cannot be removed is a ConfigError naming it, before anything is written."""
    removed: list[str] = []
    for where in (folder / "compare", folder):
        for name in (*REPORT_FILES, "deals.csv"):
            path = where / name
            if path.is_file() and not _written_by_hostapp(path):
                keep_previous(path, LIVE_KEPT)
                if path.exists():  # it could not be moved: removed below otherwise
                    raise ConfigError(
                        f"--report {folder}: {path.name} there was not written by hostapp and "
                        f"cannot be kept as {name}.1: give this command its own --report"
                    )
                print(
                    f"hostapp: {path} was not written by hostapp: kept as {name}.1",
                    file=sys.stderr,
                )
        charts: list[str] = []
        try:
            listed = json.loads((where / "summary.json").read_text(encoding="utf-8"))
            charts = [c for c in listed.get("charts", []) if isinstance(c, str)]
        except (OSError, ValueError, AttributeError):
            pass  # none, or not ours: its charts are not known, so none is removed
        for name in (*REPORT_FILES, *filter(_a_chart_name, charts)):
            path = where / Path(name).name  # a name only: never a path out of the folder
            if path.is_file() and (name in REPORT_FILES or _png(path)):
                try:
                    path.unlink()
                except OSError as exc:  # Windows: a trades.csv open in a spreadsheet
                    raise ConfigError(
                        f"--report {folder}: cannot remove {path.name} an earlier command "
                        f"wrote there ({exc.strerror or exc}): is it open in another program, "
                        "a spreadsheet? Close it, or give this command its own --report"
                    ) from None
                removed.append(str(path))
    return removed


def _a_chart_name(name: str) -> bool:
    """Could hostapp have named a chart so (:func:`chart_file_name`, ``equity.png``)?"""
    return name.endswith(".png") and name not in REPORT_FILES


#: The first bytes of every PNG file
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


#: The ``mode`` of every summary hostapp writes (a run's, a replay's and an A/B's, a live
#: run's)
SUMMARY_MODES = ("run", "replay", "live")


def _written_by_hostapp(path: Path) -> bool:
    """Does ``path`` (a report file's name) read as hostapp wrote it: a CSV under the
    columns hostapp writes first, a JSON object of a summary or a sweep, or nothing?"""
    try:
        with path.open("rb") as f:
            head = f.read(64)
        if not head or path.suffix == ".csv":
            return head.startswith((b"comparison,run,", b"data,rank,")) or not head
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(value, dict):
        return False
    return value.get("mode") in SUMMARY_MODES or {"rows", "plugin", "criterion"} <= value.keys()


def _png(path: Path) -> bool:
    """Is ``path`` a PNG image (a chart hostapp drew), by its first bytes?"""
    try:
        with path.open("rb") as f:
            return f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


#: How many earlier logs and summaries a live run's report folder keeps (``.1`` the
#: newest): a host in a restart loop (a service restarting it after each crash) kept only
#: the log before, and lost the one that said why it first stopped after two restarts.
LIVE_KEPT = 5


def keep_previous(path: Path, keep: int, *, in_step: bool = False) -> None:
    """``path`` becomes ``<name>.1``, the older ones moving up to ``<name>.<keep>`` (the
    oldest dropped). Only regular files are moved; one that cannot be is left (and
    written over, or removed with the earlier command's files). ``in_step``: the older
    ones move up even when there is no ``path`` (a run that could not write it), so
    ``<name>.N`` stays the same run's as the file it is kept beside (``summary.json.N``),
    never an older run's."""
    if not path.is_file() or path.is_symlink():
        if in_step and not path.exists():
            _move_up(path, keep)
        return
    with suppress(OSError):
        _move_up(path, keep)
        path.replace(path.with_name(f"{path.name}.1"))


def _move_up(path: Path, keep: int) -> None:
    """``<name>.N`` becomes ``<name>.N+1`` for N from ``keep`` - 1 down (the oldest
    dropped, and a run's missing file leaves its place empty, not an older run's file);
    ``<name>.1`` is then free. An error stops it, as a full disk would."""
    for n in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.is_file() and not older.is_symlink():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
        else:  # none kept of that run: none moves up in its place
            path.with_name(f"{path.name}.{n + 1}").unlink(missing_ok=True)


def keep_live_summary(folder: Path) -> None:
    """A live run's summary left in ``folder`` by the run before (a host restarted, after a
    stop or a crash) is kept as ``summary.json.1`` (:data:`LIVE_KEPT` of them), its
    ``trades.csv`` as ``trades.csv.1``, instead of being removed with an earlier
    command's files: they are that run's only report. Any other command's summary is
    left to :func:`clear_report` (its charts with it)."""
    path = folder / "summary.json"
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(earlier, dict) and "recent_window" in earlier:  # every live run's has it
        keep_previous(path, LIVE_KEPT)
        keep_previous(folder / "trades.csv", LIVE_KEPT, in_step=True)


def saved_json(path: Path, summary: Mapping[str, Any]) -> list[str]:
    """``summary`` written to ``path``; else the line saying why it could not be."""
    try:
        write_json(path, summary)
    except OSError as exc:
        return [f"cannot write {path}: {exc.strerror or exc}"]
    return []
