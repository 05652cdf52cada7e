"""``dtms export``: closed trades as JSON lines, read from the store itself.

Retention (docs/dtms.md §8) removes a closed trade ``retention_days`` after its close;
users who keep their own archive run this first, on a schedule shorter than that. It
reads the store named by ``[plugin.dtms]`` in plugins.toml (``state_dir``, or ``store``
for Redis), as ``dtms serve`` and a host with the local strategy do, rather than asking
a server: the store is where every DTMS process keeps its trades, a host with the local
strategy has no server to ask, and the export works the same whether the process that
writes the store is running (SQLite lets a reader in beside it) or stopped. It opens the
store for reading only (:mod:`.store.readonly`): a tool that reads must never move, reset
or rewrite the store of a running ``dtms serve``.

One line per trade: ``{"ticket", "record", "state", "actions"}``: the stored record as it
is (with its own journal), the state cache row, and the trade's action history from the
journal, oldest first. Exported: what retention would remove, CLOSED records with nothing
owed, closed in ``[--since, --until)``. Open trades never are; a CLOSED trade that still
owes an action (a hedge to close) is left for a later export and counted on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from hookspecs import ConfigError, masked_url

from .outfile import FileExists, write_whole
from .settings import DtmsSettings, load_settings
from .store import PER_TICKET_ACTIONS, StoreError, StoreProtocol
from .store.archives import of_trade
from .store.location import open_store
from .store.readonly import ReadOnlyStore

EXIT_OK = 0
EXIT_USAGE = 2
DEFAULT_CONFIG = Path("plugins.toml")


def add_export(sub: Any) -> None:
    """``dtms export`` on ``dtms``'s subcommand parser."""
    p = sub.add_parser(
        "export",
        help="write closed trades with their action history as JSON lines (before retention)",
    )
    p.add_argument(
        "--since",
        default=None,
        metavar="WHEN",
        help="closed at or after this UTC date or time (ISO, e.g. 2026-01-01; default: any)",
    )
    p.add_argument(
        "--until",
        default=None,
        metavar="WHEN",
        help="closed before this UTC date or time (ISO; default: now)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write here, whole or not at all: the lines go to a temporary file renamed to"
        " FILE only once all are written, so a failed export never leaves a truncated one"
        " (default, or -: stdout)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing FILE (once the export has succeeded); without it an"
        " existing FILE is refused, as it may be the only copy of trades retention removed",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="plugins.toml naming the store (default ./plugins.toml if present)",
    )


def parse_when(flag: str, text: str) -> datetime:
    """``--since``/``--until``: an ISO date or date and time; UTC unless it says (a
    trailing ``z`` is ``Z``, as ISO 8601 allows). An instant that has no UTC time (a day
    at the calendar's very edge with an offset) is named with its flag, as a bad one is."""
    iso = text[:-1] + "Z" if text.endswith("z") else text
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"{flag}: expected an ISO date or time such as 2026-01-31 or 2026-01-31T18:00,"
            f" got {text!r}"
        ) from None
    try:
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{flag}: {text!r} is outside the years 1 to 9999 in UTC") from None


def settings_from(path: str | None) -> DtmsSettings:
    """``[plugin.dtms]`` of plugins.toml (defaults when ``./plugins.toml`` is absent and
    none was named); ConfigError names the file."""
    file = Path(path) if path is not None else DEFAULT_CONFIG
    if path is None and not file.is_file():
        return DtmsSettings()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:  # read as the host reads it: a BOM (Notepad's) is no error
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{file}: not valid TOML: nested too deeply") from None
    plugin = data.get("plugin", {})
    table = plugin.get("dtms", {}) if isinstance(plugin, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{file} [plugin.dtms]: expected a table")
    return load_settings(table, f"{file} [plugin.dtms]")


def closed_time(record: dict[str, Any]) -> datetime | None:
    """The close time of a record retention may remove (CLOSED, nothing owed), else None."""
    if record.get("state") != "CLOSED" or record.get("owed"):
        return None
    text = record.get("closed_at")
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


def trade_line(store: StoreProtocol, ticket: int, record: dict[str, Any]) -> dict[str, Any]:
    """One exported trade: its record, its state row and its action history."""
    state = store.get_state(ticket)
    return {
        "ticket": ticket,
        "record": record,
        "state": None if state is None else {"state": state[0], "at": state[1].isoformat()},
        "actions": of_trade(store.actions(ticket, PER_TICKET_ACTIONS), record),
    }


def archived_line(store: StoreProtocol, ticket: int, record: dict[str, Any]) -> dict[str, Any]:
    """An archived trade (a reused ticket's earlier one, docs/dtms.md §8): its record,
    ``archived: true``, no state row (the ticket's is the new trade's), and the entries
    of the ticket's history that are its own (:func:`.store.archives.of_trade`: the
    ticket's history holds both trades')."""
    actions = of_trade(store.actions(ticket, PER_TICKET_ACTIONS), record, unnamed_by_date=True)
    return {"ticket": ticket, "record": record, "state": None, "actions": actions,
            "archived": True}  # fmt: skip


def export(
    store: StoreProtocol, out: IO[str], since: datetime | None, until: datetime
) -> tuple[int, int]:
    """Write one line per CLOSED trade (nothing owed) closed in ``[since, until)``, in
    the store's order; returns how many, and how many CLOSED trades still owe an action
    (left for a later export, as retention leaves them)."""
    count = owed = 0
    for ticket, record in store.records().items():
        at = closed_time(record)
        if at is None:
            owed += record.get("state") == "CLOSED" and bool(record.get("owed"))
            continue
        if at >= until or (since is not None and at < since):
            continue
        line = trade_line(store, ticket, record)
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        count += 1
    for ticket, record in store.archives():
        at = closed_time(record)
        if at is None or at >= until or (since is not None and at < since):
            continue
        line = archived_line(store, ticket, record)
        out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        count += 1
    return count, owed


def open_reading(location: str, state_dir: str) -> StoreProtocol:
    """The store to export from, opened to be read and never written: a directory store
    through SQLite's read-only mode (:mod:`.store.readonly`: nothing created, moved or
    chmodded, even beside a running ``dtms serve``), a Redis store as any client reads it."""
    return open_store(location, state_dir) if location else ReadOnlyStore(state_dir)


def run(args: argparse.Namespace) -> int:
    """``dtms export``; one line on stderr and exit 2 for a bad flag, file or store."""
    try:
        if args.out is not None and not args.out.strip():  # it read as the folder "."
            raise ValueError(
                f"--out {args.out!r} names no file; give a file name, or - (the default)"
                " for standard output"
            )
        since = parse_when("--since", args.since) if args.since is not None else None
        until = parse_when("--until", args.until) if args.until is not None else datetime.now(UTC)
        if since is not None and since >= until:
            raise ValueError(f"--since {args.since} is not before --until {args.until or 'now'}")
        settings = settings_from(args.config)
    except (ValueError, ConfigError) as exc:
        print(f"dtms export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    where = masked_url(settings.store) if settings.store else settings.state_dir
    if not settings.store and not (Path(settings.state_dir).expanduser() / "cache.db").is_file():
        print(
            f"dtms export: no DTMS store in {where} ([plugin.dtms] state_dir): a live host "
            "(hostapp run --live) or dtms serve run from this folder writes it; a simulated "
            "run or a replay keeps its own in its report folder (state/dtms: give that as "
            "state_dir in a copy of the config), its trades in trades.csv",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        store = open_reading(settings.store, settings.state_dir)
    except StoreError as exc:
        print(f"dtms export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    to_file = args.out not in (None, "-")
    try:
        if not to_file:
            count, left = export(store, sys.stdout, since, until)
        else:
            count, left = write_whole(
                args.out, args.force, lambda out: export(store, out, since, until)
            )
    except BrokenPipeError:
        raise  # the reader went away (``dtms export | head``): dtms_plugin.cli stops quietly
    except FileExists:
        print(
            f"dtms export: {args.out} exists; --force replaces it once the export has"
            " succeeded (nothing was written)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except OSError as exc:
        target = f"{args.out} (left as it was)" if to_file else "standard output"
        print(f"dtms export: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    owe = "owes" if left == 1 else "owe"
    note = f"; {closed_trades(left)} still {owe} an action, not exported yet" if left else ""
    print(
        f"dtms export: {closed_trades(count)} ({closed_span(since, until)}) from {where}"
        f"{' to ' + args.out if to_file else ''}{note}",
        file=sys.stderr,
    )
    return EXIT_OK


def closed_span(since: datetime | None, until: datetime) -> str:
    """The range the export read, as its summary says it: ``closed before UNTIL``, or
    ``closed from SINCE, before UNTIL`` (a trade closed at UNTIL is not in it)."""
    before = f"before {until.isoformat()}"
    return f"closed {before}" if since is None else f"closed from {since.isoformat()}, {before}"


def closed_trades(count: int) -> str:
    """``1 closed trade``, ``2 closed trades``."""
    return f"{count} closed trade{'' if count == 1 else 's'}"
