"""The original DTMS server's names, added to this server's answers.

Programs written for the original server (a chat bot's tools, a desktop agent, a status
script) read ``dtms_status`` from ``/dtms/status``, ``action_history`` and
``total_actions`` from ``/dtms/actions``, ``status == "healthy"`` from ``/health`` and
``trade_info.open_price``, ``sl``, ``tp``… from ``/dtms/trade/{ticket}``. Each function
here builds those keys from what this server already answers, so both kinds of client read
the same answer (docs/architecture.md, "The DTMS API"): nothing is removed, nothing is
computed twice.

Where the original's value came from a live terminal (its trade's floating ``profit`` and
``current_price``), this server gives what it knows: the realised profit of a closed trade
(``None`` while open) and the price of the engine's last evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from hookspecs import DefensiveState

from ..checks import Checks
from ..store import StoreProtocol
from .metrics import ServerMetrics

_CLOSED = DefensiveState.CLOSED.value


def uptime_text(seconds: float) -> str:
    """``2d 3h 04m``, ``3h 04m 05s``, ``4m 05s``: the original's ``uptime`` was human text."""
    whole = int(max(0.0, seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"


def status_keys(
    states: Mapping[str, int],
    *,
    running: bool,
    uptime: timedelta | None = None,
    performance: Mapping[str, Any] | None = None,
    last_check: str | None = None,
) -> dict[str, Any]:
    """``summary`` and ``dtms_status`` of ``GET /dtms/status`` (``None``: not known where
    this answer is made; the original said ``Unknown``)."""
    active = sum(n for state, n in states.items() if state != _CLOSED)
    summary = (
        f"DTMS system is active with {active} trades monitored"
        if running
        else "DTMS system is not available: the engine is not running"
    )
    return {
        "summary": summary,
        "dtms_status": {
            "system_active": running,
            "uptime": uptime_text(uptime.total_seconds()) if uptime is not None else "Unknown",
            "active_trades": active,
            "trades_by_state": dict(states),
            "performance": dict(performance or {}),
            "last_check": last_check or "Unknown",
        },
    }


def performance_keys(
    *, uptime: timedelta, checks: Checks | None, metrics: ServerMetrics
) -> dict[str, Any]:
    """The original's ``performance`` counts since the server started, from this engine's
    figures: a fast check is an evaluation of an open trade (each cycle), a deep check a
    scoring (a new closed fast bar, or an adverse move), an action executed one the broker
    answered (failed ones too, as the original counted), a state transition a state
    change; with the original's per-hour rates of the two checks over the uptime. An
    engine that keeps no :class:`~dtms_plugin.checks.Checks` (not the local one) has 0
    checks."""
    fast = checks.evaluations if checks is not None else 0
    deep = checks.scorings if checks is not None else 0
    hours = uptime.total_seconds() / 3600
    return {
        "fast_checks_total": fast,
        "deep_checks_total": deep,
        "actions_executed": metrics.actions_total,
        "state_transitions": metrics.transitions_total,
        "fast_checks_per_hour": round(fast / hours, 2) if hours > 0 else 0.0,
        "deep_checks_per_hour": round(deep / hours, 2) if hours > 0 else 0.0,
    }


def checked_at(tickets: Iterable[int], when: Mapping[int, datetime]) -> dict[str, float | None]:
    """``last_fast_check`` or ``last_deep_check`` of ``GET /dtms/engine``: for each of
    ``tickets`` (the open trades), the Unix time in seconds of its latest evaluation or
    scoring (``when``, the engine's clock), null while it had none since the server
    started. The original's status page lists a card per key and shows each time."""
    return {str(t): (when[t].timestamp() if t in when else None) for t in sorted(tickets)}


def actions_keys(
    entries: Iterable[Mapping[str, Any]], symbols: Mapping[int, str | None], total: int
) -> dict[str, Any]:
    """``summary``, ``action_history`` and ``total_actions`` of ``GET /dtms/actions``: the
    same entries as ``actions``, oldest first, under the original's names (a state change
    is an ``action_type`` of ``state_change``). ``symbols``: each ticket's symbol;
    ``total``: the entries the history keeps (of the ticket asked about), of which these
    are the newest, as the original counted its whole history."""
    history = [_original_entry(entry, symbols) for entry in entries]
    count = len(history)
    total = max(total, count)  # an entry appended since it was counted
    summary = (
        f"Retrieved {count} recent DTMS actions from {total} total actions"
        if count
        else "No DTMS actions found in history"
    )
    return {"summary": summary, "action_history": history, "total_actions": total}


def actions_answer(store: StoreProtocol, ticket: int | None, limit: int) -> dict[str, Any]:
    """``GET /dtms/actions``'s answer, read from ``store`` (on ``dtms serve`` and a
    serving host alike): the newest ``limit`` entries (of ``ticket``), and the original's
    keys (:func:`actions_keys`)."""
    total = store.actions_count(ticket)
    entries = store.actions(ticket, limit=limit)
    return {
        "ticket": ticket,
        "actions": entries,
        **actions_keys(entries, symbols(store, entries), total),
    }


def symbols(store: StoreProtocol, entries: Iterable[Mapping[str, Any]]) -> dict[int, str | None]:
    """The symbol of each ticket ``entries`` name, from its record; an unregistered
    trade has none left, and its ``unregistered`` entry carries the symbol instead."""
    out: dict[int, str | None] = {}
    for entry in entries:
        ticket = entry.get("ticket")
        if isinstance(ticket, int) and out.get(ticket) is None:
            record = store.get_record(ticket) if ticket not in out else None
            fields = record.get("trade", record) if record is not None else entry
            symbol = fields.get("symbol") if isinstance(fields, Mapping) else None
            out[ticket] = symbol if isinstance(symbol, str) else None
    return out


def _original_entry(entry: Mapping[str, Any], symbols: Mapping[int, str | None]) -> dict[str, Any]:
    kind = entry.get("type", "action")
    ticket = entry.get("ticket")
    details = {k: v for k, v in entry.items() if k not in ("type", "kind", "ticket", "ok", "at")}
    return {
        "action_type": entry.get("kind") if kind == "action" else kind,
        "ticket": ticket,
        "symbol": symbols.get(ticket) if isinstance(ticket, int) else None,
        "success": entry.get("ok", True) if kind == "action" else True,
        "timestamp": entry.get("at"),
        "details": details,
    }


def health_keys(*, healthy: bool, engine_running: bool, now: datetime) -> dict[str, Any]:
    """The original ``/health`` keys: ``status`` is ``healthy``, ``degraded`` (the engine
    runs but something is wrong: ``problems`` says what) or ``unhealthy`` (no engine)."""
    status = "healthy" if healthy else "degraded" if engine_running else "unhealthy"
    return {
        "status": status,
        "dtms_initialized": engine_running,
        "dtms_available": healthy,
        "timestamp": now.isoformat(),
    }


def trade_info_keys(
    ticket: int, fields: Mapping[str, Any], record: Mapping[str, Any], state: str
) -> dict[str, Any]:
    """The original ``trade_info`` keys this server had under other names: ``fields``
    are the trade's (the record's top level or its ``trade``)."""
    direction = fields.get("direction")
    return {
        "ticket": ticket,
        "type": direction.upper() if isinstance(direction, str) else None,
        "open_price": fields.get("entry_price"),
        "current_price": record.get("last_eval_price"),
        "sl": fields.get("stop_loss"),
        "tp": fields.get("take_profit"),
        "profit": record.get("realised_profit") if state == _CLOSED else None,
        "state_entry_time": record.get("state_entered_at"),
        "protection_active": state != _CLOSED,
    }
