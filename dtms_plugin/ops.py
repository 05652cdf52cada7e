"""The ``dtms`` operator verbs: look at and steer a running DTMS server from a shell.

``dtms status``, ``dtms trades [--state S]``, ``dtms trade TICKET``, ``dtms actions
[--ticket T]``, ``dtms register …`` and ``dtms unregister TICKET``: each one request
through the public client (:mod:`dtms_plugin.client`), printed as a table, or as JSON with
``--json``. The server is ``--url`` (default ``$DTMS_URL`` or http://127.0.0.1:8001); the
token is read from ``$DTMS_TOKEN`` (``--token-env`` names another variable), as the server
reads its own. A server that does not answer is one line on stderr and exit 1.
``dtms export`` (:mod:`dtms_plugin.export`) is the exception: it reads the store itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from hookspecs import masked_url
from hookspecs.events import printable

from .client import AsyncDtmsClient, DtmsError, DtmsUnreachable
from .client.aio import result_of
from .client.http import DEFAULT_TOKEN_ENV, URL_ENV
from .export import add_export
from .export import run as run_export

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

STATES = ("HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED")
VERBS = ("status", "trades", "trade", "actions", "register", "unregister", "export")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url", default=None, help=f"the DTMS server (default ${URL_ENV} or http://127.0.0.1:8001)"
    )
    p.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        type=_variable,
        metavar="VAR",
        help=f"environment variable holding the bearer token (default {DEFAULT_TOKEN_ENV})",
    )
    p.add_argument("--json", action="store_true", help="print the server's JSON, not a table")
    p.add_argument(
        "--timeout", type=_seconds, default=5.0, metavar="S", help="seconds to wait (default 5)"
    )


# Each raises ArgumentTypeError with what the flag takes: argparse words a ValueError as
# "invalid _seconds value", naming this function rather than what was wrong.


def _seconds(text: str) -> float:
    """``--timeout``: a finite number of seconds above 0 (0, -1 or nan never wait)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0, such as 5 or 0.5, got {text!r}"
        )
    return value


def _positive(text: str) -> int:
    """``--limit``: at least 1 (the server refuses less, after a round trip)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def _variable(text: str) -> str:
    """``--token-env``: the name of an environment variable. An empty one is refused, as
    ``[plugin.dtms] token_env = ""`` is: no variable has that name, so the command would
    send no token at all and be told 401 by a server that has one."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"must not be empty: the name of the variable holding the token (default"
            f" {DEFAULT_TOKEN_ENV}), got {text!r}"
        )
    return text


def add_verbs(sub: Any) -> None:
    """The operator verbs on ``dtms``'s subcommand parser."""
    p = sub.add_parser("status", help="the server's engine status and trades per state")
    _common(p)
    p = sub.add_parser("trades", help="every trade the server keeps, open and closed")
    p.add_argument("--state", choices=STATES, type=str.upper, help="only trades in this state")
    _common(p)
    p = sub.add_parser("trade", help="one trade: state, score, details")
    p.add_argument("ticket", type=int, help="the trade's ticket")
    _common(p)
    p = sub.add_parser("actions", help="the history of actions and state changes")
    p.add_argument("--ticket", type=int, default=None, help="only this trade's history")
    p.add_argument("--limit", type=_positive, default=50, help="the newest N entries (default 50)")
    _common(p)
    p = sub.add_parser("register", help="register a trade the server should defend")
    p.add_argument("ticket", type=int, help="the position's ticket")
    p.add_argument("symbol", help="its symbol, e.g. XAUUSD")
    p.add_argument("direction", choices=("buy", "sell"), type=str.lower, help="buy or sell")
    p.add_argument("--entry", type=float, required=True, help="entry price")
    p.add_argument("--volume", type=float, required=True, help="lots")
    p.add_argument("--sl", type=float, default=None, help="stop loss (default none)")
    p.add_argument("--tp", type=float, default=None, help="take profit (default none)")
    _common(p)
    p = sub.add_parser("unregister", help="stop managing a trade (its position is left alone)")
    p.add_argument("ticket", type=int, help="the trade's ticket")
    _common(p)
    add_export(sub)  # reads the store, not the server (dtms_plugin.export says why)


def run(args: argparse.Namespace) -> int:
    """Run one verb; the exit code."""
    if args.command == "export":
        return run_export(args)
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    try:
        client = AsyncDtmsClient(args.url, token_env=args.token_env, timeout=args.timeout,
                                 register_timeout=args.timeout)  # fmt: skip
    except ValueError as exc:  # the URL or the token cannot be used: a usage error
        print(f"dtms: {_usage_problem(args, exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return await VERB_FUNCS[args.command](client, args)
    except DtmsUnreachable as exc:
        if isinstance(exc.__cause__, TimeoutError):  # it took the connection, not the request
            why = f"the server at {masked_url(client.url)} did not answer within {args.timeout:g} s"
            print(f"dtms: {why} (--timeout)", file=sys.stderr)
        else:
            why = f"server not running at {masked_url(client.url)}"
            print(f"dtms: {why}", file=sys.stderr)
        _json_error(args, why)
        return EXIT_FAILURE
    except DtmsError as exc:
        print(f"dtms {args.command}: {exc}", file=sys.stderr)
        _json_error(args, str(exc))
        return EXIT_FAILURE
    finally:
        await client.close()


def _usage_problem(args: argparse.Namespace, exc: ValueError) -> str:
    """What the client refused, named as the operator gave it: ``--url`` or ``$DTMS_URL``
    (the client's own message says ``url`` or ``DTMS_URL``), or the token's variable: a
    URL without ``http://``, or one no request can be made to (a port past 65535, an
    IPv6 address without its closing bracket), is one line naming it."""
    said = str(exc)
    if args.url is not None and not args.url.strip():
        return f"--url {args.url!r} is not an http:// or https:// URL"
    if args.url is not None and said.startswith("url: "):
        return f"--url {said.removeprefix('url: ')}"
    if said.startswith(f"{URL_ENV}: "):
        return f"${URL_ENV} {said.removeprefix(f'{URL_ENV}: ')}"
    return f"${args.token_env}: {said.removeprefix('token: ')}"


def _emit(args: argparse.Namespace, body: Any, table: Callable[[], Any]) -> None:
    if args.json:
        print(json.dumps(body, indent=2, sort_keys=True, default=str))
        return
    _console().print(table())


def _console() -> Any:
    """The terminal's width when there is one (or ``$COLUMNS``, which rich reads), so a
    table fits an 80-column terminal by wrapping its cells rather than every line; 100
    columns when the output goes to a file or pipe, where nothing wraps it."""
    from rich.console import Console

    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        return console
    return Console(width=100)


#: columns kept whole on a narrow terminal: the ones a row is read by
UNFOLDED = frozenset({"ticket", "state", "what"})


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for i, name in enumerate(columns):  # what names a row is never folded; the rest wraps
        table.add_column(name, no_wrap=i == 0 or name in UNFOLDED, overflow="fold")
    for row in rows:  # as text, never markup: a reason's "[vwap_volume …]" is data
        table.add_row(*(Text("–" if v is None else _shown(v)) for v in row))
    return table


def _shown(value: Any) -> str:
    """A cell: a float to 10 decimals at most, its float noise gone (a score of
    -0.2400000000000002 is -0.24) and a price's digits kept (EURUSD's 1.08297 read
    1.083 at 4 decimals, a coin's 0.00001234 read 0), anything else as its text,
    its control characters escaped (:func:`hookspecs.events.printable`: a close's reason
    is a client's words, and an ESC in it would reach the terminal)."""
    if isinstance(value, float):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return printable(str(value))


async def _status(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    body = await client.status()
    engine, mode = body.get("engine", {}), body.get("account_mode", {})
    rows: list[list[Any]] = [
        ["engine", "healthy" if engine.get("healthy") else "NOT healthy"],
        ["strategy / broker", _joined(engine.get("strategy"), engine.get("broker"))],
        ["engine time", engine.get("engine_time")],
        ["trades", body.get("trades")],
        *([f"  {s}", n] for s, n in body.get("states", {}).items()),
        ["account defensive", f"until {mode.get('until')}" if mode.get("defensive") else "no"],
    ]
    _emit(args, body, lambda: _table(f"DTMS at {masked_url(client.url)}", ["", ""], rows))
    return EXIT_OK


def _joined(*parts: Any) -> str | None:
    """``local / paper``, or the parts known (a host's server names no broker)."""
    return " / ".join(str(p) for p in parts if p is not None) or None


def _trade_row(ticket: Any, view: dict[str, Any]) -> list[Any]:
    info = view.get("trade_info", {})
    outcome = None
    if info.get("closed_at"):
        profit = info.get("realised_profit")
        outcome = " ".join(
            str(part) for part in (info.get("close_reason") or "closed", profit) if part is not None
        )
    return [ticket, info.get("symbol"), info.get("direction"), info.get("volume"),
            view.get("state"), _yes(view.get("defensive")), view.get("score"),
            outcome]  # fmt: skip


def _yes(flag: Any) -> str:
    """One wording of a yes/no cell, in every table."""
    return "yes" if flag else "no"


TRADE_COLUMNS = ["ticket", "symbol", "dir", "volume", "state", "defensive", "score", "closed"]


async def _trades(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    trades = await client.trades(args.state)
    if args.state:  # a server older than the state filter ignores it and answers all
        trades = {t: v for t, v in trades.items() if v.get("state") == args.state}
    rows = [_trade_row(t, v) for t, v in trades.items()]
    title = f"{len(rows)} trades" + (f" in {args.state}" if args.state else "")
    _emit(args, trades, lambda: _table(title, TRADE_COLUMNS, rows))
    return EXIT_OK


async def _trade(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    view = await client.state(args.ticket)
    if view is None:
        where = masked_url(client.url)
        print(f"dtms trade: ticket {args.ticket} is not managed by {where}", file=sys.stderr)
        _json_error(args, "trade not found")
        return EXIT_FAILURE
    info = view.get("trade_info", {})
    rows: list[list[Any]] = [
        ["state", view.get("state")],
        ["defensive", _yes(view.get("defensive"))],
        ["score", view.get("score")],
        ["summary", view.get("summary")],
        *([k, info.get(k)] for k in ("symbol", "direction", "entry_price", "volume",
                                      "stop_loss", "take_profit", "hedge_ticket")),
        *([k, info.get(k)] for k in ("closed_at", "close_reason", "realised_profit")
          if info.get("closed_at")),
        ["warnings", "; ".join(map(str, view.get("warnings", []))) or None],
        ["actions taken", ", ".join(str(a.get("kind")) for a in info.get("actions_taken", []))
         or None],
    ]  # fmt: skip
    _emit(args, view, lambda: _table(f"trade {args.ticket}", ["", ""], rows))
    return EXIT_OK


async def _actions(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    entries = await client.actions(args.ticket, args.limit)
    rows = [
        [e.get("at"), e.get("ticket"), e.get("kind") or e.get("type"),
         _result(e), e.get("reason")]
        for e in entries
    ]  # fmt: skip
    _emit(args, entries, lambda: _table("history", ["at", "ticket", "what", "result", "reason"],
                                        rows))  # fmt: skip
    return EXIT_OK


def _result(entry: dict[str, Any]) -> Any:
    if entry.get("type") == "state_change":
        return f"{entry.get('from')} → {entry.get('to')}"
    if "ok" in entry:
        return "ok" if entry["ok"] else f"failed {entry.get('code', '')}".strip()
    return None


async def _register(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    body = {"ticket": args.ticket, "symbol": args.symbol, "direction": args.direction,
            "entry": args.entry, "volume": args.volume, "stop_loss": args.sl,
            "take_profit": args.tp}  # fmt: skip
    # one attempt: an operator at a shell retries by hand (the client's register retries
    # for programs, and logs each attempt)
    reply = await client.call("POST", "/dtms/trade/enable", json_body=body)
    result = result_of(args.ticket, reply, client.connection.url("/dtms/trade/enable"))
    answer = result.body if result.body is not None else {"outcome": result.outcome}
    rows: list[list[Any]] = [["outcome", result.outcome], ["status", result.status],
            ["message", result.message or (answer.get("summary") if isinstance(answer, dict)
                                           else None)]]  # fmt: skip
    _emit(args, answer, lambda: _table(f"register {args.ticket}", ["", ""], rows))
    return EXIT_OK if result.ok else EXIT_FAILURE


async def _unregister(client: AsyncDtmsClient, args: argparse.Namespace) -> int:
    try:
        known = await client.unregister(args.ticket)
    except DtmsError as exc:
        if exc.status != 409 or not isinstance(exc.body, dict):
            raise
        # a CLOSED trade: nothing manages it, and its record is its history (docs/dtms.md §8)
        print(f"dtms unregister: ticket {args.ticket} is closed: nothing manages it, and its"
              " record is kept as its history until retention", file=sys.stderr)  # fmt: skip
        if args.json:
            print(json.dumps(exc.body, indent=2, sort_keys=True))
        return EXIT_FAILURE
    if not known:
        print(f"dtms unregister: ticket {args.ticket} is not managed by {masked_url(client.url)}",
              file=sys.stderr)  # fmt: skip
        _json_error(args, "trade not found")
        return EXIT_FAILURE
    body = {"ticket": args.ticket, "unregistered": True}
    _emit(args, body, lambda: f"ticket {args.ticket} unregistered")
    return EXIT_OK


def _json_error(args: argparse.Namespace, error: str) -> None:
    """With ``--json``, a refusal or a failure on stdout too (a refusal as the server words
    it, the ticket named when the verb has one): a script reading stdout gets JSON, never
    nothing, whether the server refused or could not be reached."""
    if getattr(args, "json", False):
        body: dict[str, Any] = {"error": error, "success": False}
        if getattr(args, "ticket", None) is not None:
            body["ticket"] = args.ticket
        print(json.dumps(body, indent=2, sort_keys=True))


VERB_FUNCS: dict[str, Callable[[AsyncDtmsClient, argparse.Namespace], Awaitable[int]]] = {
    "status": _status,
    "trades": _trades,
    "trade": _trade,
    "actions": _actions,
    "register": _register,
    "unregister": _unregister,
}


def version() -> str:
    """The installed distribution's version (``dtms --version``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("hostapp")
    except PackageNotFoundError:
        return "unknown"
