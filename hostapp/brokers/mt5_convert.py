"""The boundary between the MetaTrader5 API and hookspecs types.

Results may be namedtuples (the Windows package) or rpyc proxies of them (mt5linux), and
numbers may be numpy scalars; everything is turned into plain Python values here, once, so
nothing past this module holds a remote reference. Times from MetaTrader are the trade
server's wall clock written as if it were UTC; :class:`ServerClock` undoes that.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from hookspecs import AccountInfo, Bar, Quote, SymbolInfo, Trade


def as_dict(obj: Any) -> dict[str, Any]:
    """A local ``dict`` of plain values from a namedtuple or its remote proxy."""
    raw = obj._asdict()
    return {str(key): plain(raw[key]) for key in list(raw.keys())}


def plain(value: Any) -> Any:
    """Numbers and strings as exact built-in types; nested namedtuples as dicts."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if hasattr(value, "_asdict"):
        return as_dict(value)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def last_error(api: Any) -> str:
    """``last_error()`` as ``"(-2, 'Invalid params')"``; never raises."""
    try:
        code, text = tuple(api.last_error())
    except Exception as exc:  # the call that failed may have broken the connection
        return f"last_error() unavailable: {exc}"
    return f"({int(code)}, {str(text)!r})"


def error_code(api: Any) -> int | None:
    """The code of ``last_error()``; ``None`` when it cannot be read."""
    try:
        code, _text = tuple(api.last_error())
        return int(code)
    except Exception:  # the call that failed may have broken the connection
        return None


@dataclass(frozen=True, slots=True)
class ServerClock:
    """The trade server's clock: its offset from UTC, in seconds (EET/EEST brokers: 7200
    or 10800), or, when ``[host.mt5] server_timezone`` names it, its time zone. An offset
    is right for times of its own summer or winter only: a bar or a position from before
    the server's last switch read with it is an hour off. A zone reads every time with
    the offset of its own date (docs/mt5.md, "Times are UTC")."""

    offset_seconds: int = 0
    zone: tzinfo | None = None

    def to_utc(self, server_epoch: float) -> datetime:
        if self.zone is None:
            return datetime.fromtimestamp(float(server_epoch) - self.offset_seconds, UTC)
        wall = datetime.fromtimestamp(float(server_epoch), UTC).replace(tzinfo=self.zone)
        return wall.astimezone(UTC)

    def offset_at(self, when: datetime) -> int:
        """The server's offset from UTC, in seconds, at the instant ``when``."""
        if self.zone is None:
            return self.offset_seconds
        offset = when.astimezone(self.zone).utcoffset()
        return self.offset_seconds if offset is None else int(offset.total_seconds())


def symbol_info_from(d: Mapping[str, Any]) -> SymbolInfo:
    """MetaTrader gives stops/freeze levels in points; hookspecs wants price units."""
    point = float(d["point"])
    return SymbolInfo(
        name=str(d["name"]),
        digits=int(d["digits"]),
        point=point,
        volume_min=float(d["volume_min"]),
        volume_step=float(d["volume_step"]),
        volume_max=float(d["volume_max"]),
        stops_level=int(d["trade_stops_level"]) * point,
        freeze_level=int(d["trade_freeze_level"]) * point,
        contract_size=float(d["trade_contract_size"]),
    )


def _level(value: Any) -> float | None:
    """MetaTrader writes "no stop" as 0.0."""
    level = float(value)
    return level if level > 0 else None


def identity(position: Mapping[str, Any]) -> int:
    """A position's identity for as long as it is open: its ``identifier``
    (``POSITION_IDENTIFIER``, the ticket of the order that opened it, which every deal of
    the position carries), not its ``ticket``, which the server changes when it re-opens
    the position (a swap charged so: :mod:`.mt5_reopen`). A row without one (an older
    terminal build) has only its ticket."""
    return int(position.get("identifier") or 0) or int(position["ticket"])


def trade_from_position(d: Mapping[str, Any], clock: ServerClock) -> Trade:
    """The position as hookspecs sees it: its identity as its ticket (:func:`identity`),
    its profit with the swap accrued so far (MetaTrader's ``profit`` leaves it out, the
    account's equity and the closing deals count it)."""
    return Trade(
        ticket=identity(d),
        symbol=str(d["symbol"]),
        direction="buy" if int(d["type"]) == 0 else "sell",
        volume=float(d["volume"]),
        entry_price=float(d["price_open"]),
        stop_loss=_level(d["sl"]),
        take_profit=_level(d["tp"]),
        opened_at=clock.to_utc(d["time"]),
        magic=int(d["magic"]),
        comment=str(d["comment"]),
        profit=float(d["profit"]) + float(d.get("swap") or 0.0),
    )


def quote_from_tick(symbol: str, d: Mapping[str, Any], clock: ServerClock) -> Quote | None:
    bid, ask = float(d["bid"]), float(d["ask"])
    if not (bid > 0 and ask > 0):
        return None
    return Quote(symbol=symbol, bid=bid, ask=ask, time=clock.to_utc(d["time"]))


def account_identity(d: Mapping[str, Any]) -> str:
    """``<server> <login>``: the account among all others (:attr:`AccountInfo.identity`)."""
    return f"{d.get('server') or ''} {int(d['login'])}".strip()


def account_from(d: Mapping[str, Any], hedging_mode: int) -> AccountInfo:
    login, server = int(d["login"]), str(d.get("server") or "")
    return AccountInfo(
        login=login,
        balance=float(d["balance"]),
        equity=float(d["equity"]),
        margin_mode="hedging" if int(d["margin_mode"]) == hedging_mode else "netting",
        currency=str(d["currency"]),
        identity=account_identity(d),
        engine_lock=str(engine_lock_of(server, login)),
    )


def engine_lock_of(server: str, login: int) -> Path:
    """Where a DTMS engine defending all of one MetaTrader account's trades holds its
    lock (AccountInfo.engine_lock): the user's state folder (``XDG_STATE_HOME``, else
    ``%LOCALAPPDATA%`` on Windows, else ``~/.local/state``), by server and login. The
    terminal has no file to lock beside, so this guards one machine: an engine on another
    machine is not seen."""
    base = os.environ.get("XDG_STATE_HOME") or os.environ.get("LOCALAPPDATA")
    folder = Path(base) if base else Path.home() / ".local" / "state"
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in server) or "server"
    return folder / "hostapp" / "locks" / f"mt5-{name}-{login}.dtms-engine.lock"


def bars_from_rates(rows: Iterable[Any], clock: ServerClock, point: float) -> list[Bar]:
    """Rows of ``copy_rates_*`` (numpy records or their proxies), read field by field."""
    bars: list[Bar] = []
    for row in rows:
        get: Callable[[str], Any] = row.__getitem__
        bars.append(
            Bar(
                time=clock.to_utc(int(get("time"))),
                open=float(get("open")),
                high=float(get("high")),
                low=float(get("low")),
                close=float(get("close")),
                volume=float(get("tick_volume")),
                spread=int(get("spread")) * point,
            )
        )
    return bars
