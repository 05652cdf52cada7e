"""Trade records (as the engine persists them) → the JSON shapes of the API.

The shapes are the original DTMS server's, which existing clients and the remote strategy
read: ``state`` and ``defensive`` at the top level, the details under ``trade_info``. The
reader is tolerant of a record missing a key (an older record, a partial write by a
crashed process): a missing value is ``null``, never a 500.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hookspecs import DefensiveState

from ..defensive import account_defensive
from ..engine.record import risk_from_stop
from ..store.listing import trade_fields
from .original import trade_info_keys

if TYPE_CHECKING:
    from .validation import Registration

#: Record keys copied into ``trade_info`` when present (the engine's TradeRecord JSON,
#: ``dtms_plugin.engine.record``), besides ``deadlines``, which is built.
TRADE_INFO_KEYS = (
    "symbol",
    "direction",
    "entry_price",
    "volume",
    "initial_volume",
    "stop_loss",
    "initial_sl",
    "take_profit",
    "opened_at",
    "r",
    "seq",
    "state_entered_at",
    "armed",
    "hedge_ticket",
    "hedge_volume",
    "closed_volume",
    "last_eval_price",
    "last_eval_at",
    "last_bar_time",
    "owed",
    "closed_at",
    "close_reason",
    "realised_profit",
    "comment",
    "magic",
    "close_price",
    "journal",
)

_STATES = {s.value for s in DefensiveState}


def record_state(record: Mapping[str, Any]) -> str:
    return state_name(record.get("state"))


def state_name(state: object) -> str:
    """The state a record's ``state`` value reads as: HEALTHY unless it names one."""
    return state if isinstance(state, str) and state in _STATES else DefensiveState.HEALTHY.value


def is_defensive(state: str, account_defensive: bool) -> bool:
    """What ``is_defensive`` answers: WARNING_L2/HEDGED, or any open trade while the
    account is in defensive mode (docs/dtms.md §9)."""
    if account_defensive and state != DefensiveState.CLOSED.value:
        return True
    return DefensiveState(state).defensive


def account_mode_view(mode: tuple[datetime, str] | None, now: datetime | None) -> dict[str, Any]:
    """The account defensive mode ``(until, reason)`` as every answer shows it:
    ``defensive`` (on at ``now``, the clock of the engine that set it), and the mode's
    ``until`` and ``reason`` while it is on, null while it is off (an expired mode is no
    mode: ``/dtms/status``, the host's status and the batch all say so alike)."""
    on = account_defensive(mode, now)
    return {
        "defensive": on,
        "until": mode[0].isoformat() if on and mode is not None else None,
        "reason": mode[1] if on and mode is not None else None,
    }


def batch_account_mode(
    mode: tuple[datetime, str] | None, now: datetime | None
) -> dict[str, Any] | None:
    """``account_mode`` of ``GET /dtms/trades``: :func:`account_mode_view` while the mode
    is on, null while it is off. Null, not the view with ``defensive: false``: a remote
    host reads null as "cleared" and an object without ``until`` as malformed
    (``dtms_plugin/remote_account_mode.py``), and hosts of earlier versions talk to this
    server too (docs/scaling.md)."""
    view = account_mode_view(mode, now)
    return view if view["defensive"] else None


def _score(record: Mapping[str, Any]) -> float | None:
    for key in ("last_score", "score"):
        value = record.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return round(float(value), 6)  # -1.2000000000000002 is -1.2
        if isinstance(value, Mapping) and isinstance(value.get("total"), int | float):
            return round(float(value["total"]), 6)
    return None


def _updated_at(record: Mapping[str, Any]) -> str | None:
    """When the engine last changed or evaluated the trade (engine clock): the newest of
    the record's own times, as the record has no single "updated" stamp."""
    explicit = record.get("updated_at")
    if isinstance(explicit, str):
        return explicit
    stamps: list[datetime] = []
    journal = record.get("journal")
    last = journal[-1] if isinstance(journal, list) and journal else None
    candidates = [record.get(k) for k in ("last_eval_at", "state_entered_at", "closed_at")]
    candidates.append(last.get("at") if isinstance(last, Mapping) else None)
    for value in candidates:
        if isinstance(value, str):
            try:
                stamps.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    newest = max((t for t in stamps if t.tzinfo is not None), default=None)
    return newest.isoformat() if newest is not None else None


def _deadlines(record: Mapping[str, Any]) -> dict[str, Any]:
    given = record.get("deadlines")
    if isinstance(given, Mapping):
        return dict(given)
    return {
        "flat": record.get("flat_deadline"),
        "recovery": record.get("recovery_deadline"),
    }


def pnl_r(record: Mapping[str, Any]) -> float | None:
    """P&L in R: a closed trade's at the price it closed at, an open one's (unrealised) at
    the engine's last evaluation price (None when unknown). A closed trade's last
    evaluation can be bars before its stop was hit: its R there is not its result."""
    nested = record.get("trade")
    fields = nested if isinstance(nested, Mapping) else record
    closed = record.get("state") == DefensiveState.CLOSED.value
    entry = fields.get("entry_price")
    price = record.get("close_price") if closed else record.get("last_eval_price")
    if not isinstance(entry, int | float) or not isinstance(price, int | float):
        return None
    risk = record.get("r")
    if not isinstance(risk, int | float) or risk <= 0:
        stop = record.get("initial_sl") or fields.get("stop_loss")
        direction = str(fields.get("direction"))
        known = float(stop) if isinstance(stop, int | float) and stop else None
        risk = risk_from_stop(direction, entry, known)
    if risk <= 0:
        return None
    sign = -1 if fields.get("direction") == "sell" else 1
    return round(sign * (price - entry) / risk, 2)


def last_journal_entry(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The newest action of the engine's own journal (pending, done, failed, unknown)."""
    journal = record.get("journal")
    if isinstance(journal, list) and journal and isinstance(journal[-1], Mapping):
        return journal[-1]
    return None


def _warnings(record: Mapping[str, Any]) -> list[Any]:
    value = record.get("warnings")
    return list(value) if isinstance(value, list) else []


#: ``history_mark`` of a trade with nothing in its history yet.
EMPTY_HISTORY = "0"


def history_mark(record: Mapping[str, Any]) -> str:
    """``history_mark``: a short text that changes whenever the trade's history (``GET
    /dtms/actions?ticket=``) may have grown, so a client that saw it before need not read
    the history again (the remote strategy tells its host's plugins the new entries:
    docs/dtms.md §9). Read from the record alone, so the batch stays one read per ticket:
    a state entered moves ``seq``, and an action answered or settled puts its journal
    entry at the journal's end (``engine/journal.py``), so the newest entry's key, status,
    attempts, waits or time move. It also moves when no entry came (an action journaled
    pending before its broker call): a read that finds nothing new. A trade that has
    neither changed state nor journaled an action has :data:`EMPTY_HISTORY`, so a client
    that hands the server many trades at once reads no history until one of them has
    some."""
    journal = record.get("journal")
    if not record.get("seq") and not journal:
        return EMPTY_HISTORY
    last = journal[-1] if isinstance(journal, list) and journal else None
    newest = last if isinstance(last, Mapping) else {}
    parts = [record.get("seq"), record.get("state")]
    parts += [newest.get(k) for k in ("key", "status", "attempts", "waits", "at")]
    return hashlib.blake2s(repr(parts).encode(), digest_size=6).hexdigest()


def batch_entry(
    ticket: int, record: Mapping[str, Any], *, account_defensive: bool
) -> dict[str, Any]:
    """The small per-ticket shape of ``GET /dtms/trades`` (what a cache refresh needs):
    the original's keys, and ``history_mark`` (:func:`history_mark`), which clients that
    do not know it ignore."""
    state = record_state(record)
    return {
        "ticket": ticket,
        "state": state,
        "defensive": is_defensive(state, account_defensive),
        "score": _score(record),
        "updated_at": _updated_at(record),
        "history_mark": history_mark(record),
    }


def trade_view(
    ticket: int,
    record: Mapping[str, Any],
    *,
    account_defensive: bool,
    last_action: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The full shape of ``GET /dtms/trade/{ticket}``."""
    fields = trade_fields(record)
    info: dict[str, Any] = {}
    for key in TRADE_INFO_KEYS:
        if key in fields:
            info[key] = fields[key]
        elif key in record:
            info[key] = record[key]
    info["deadlines"] = _deadlines(fields)
    info.setdefault("hedge_ticket", None)
    info.setdefault("journal", [])
    view = batch_entry(ticket, record, account_defensive=account_defensive)
    view["warnings"] = _warnings(record)
    view["last_action"] = dict(last_action) if last_action is not None else None
    # the original server's names, which its clients read (docs/dtms.md §9)
    info["state"] = view["state"]
    info["current_score"] = view["score"]
    info["warnings"] = view["warnings"]
    info["actions_taken"] = actions_taken(record)
    info.update(trade_info_keys(ticket, fields, record, view["state"]))
    info["performance"] = {"pnl_r": pnl_r(record)}
    view["trade_info"] = info
    view["success"] = True
    view["summary"] = trade_summary(ticket, view["state"], view["score"])
    return view


def actions_taken(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The engine's done actions, oldest first. A list, as the original's was (its
    ``actions_taken`` listed the trade's state transitions, which this server lists in
    ``GET /dtms/actions``; only its state machine's own status counted them): its clients
    pass it on (a chat tool) and read none of its entries' keys."""
    journal = record.get("journal")
    if not isinstance(journal, list):
        return []
    return [
        {"kind": e.get("kind"), "at": e.get("at"), "key": e.get("key"), "code": e.get("code")}
        for e in journal
        if isinstance(e, Mapping) and e.get("status") == "done"
    ]


def trade_summary(ticket: int, state: str, score: float | None) -> str:
    shown = "n/a" if score is None else f"{score:g}"
    return f"Trade {ticket} is in {state} state with score {shown}"


def registration_body(
    registered: Mapping[str, Any], view: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``POST /dtms/trade/enable``'s body: today's fields plus the original's ``success``,
    ``summary`` and ``trade_info``, which its clients test before trusting a registration."""
    ticket = registered["ticket"]
    already = bool(registered.get("already_registered"))
    summary = (
        f"Trade {ticket} already registered with DTMS"
        if already
        else f"DTMS protection enabled for ticket {ticket}"
    )
    info = dict(view["trade_info"]) if view is not None else {"state": registered.get("state")}
    return {**registered, "success": True, "summary": summary, "trade_info": info}


#: A registration's values and the record's names of what the trade was registered with
#: (the engine's ``initial_*``; a record without them, its current values).
_REGISTERED_AS = (
    ("entry_price", ("entry_price",)),
    ("volume", ("initial_volume", "volume")),
    ("stop_loss", ("initial_sl", "stop_loss")),
    ("take_profit", ("take_profit",)),
)


def not_applied(reg: Registration, record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A repeat registration's values that differ from the kept trade's (``{"stop_loss":
    {"sent": 1995.0, "kept": 1990.0}}``): it is answered 200 ``already_registered`` as
    the original answered it, and changes nothing, so a client that meant to move its stop
    this way is told so instead of believing it done (docs/client.md: the engine reads a
    stop moved at the broker)."""
    fields = trade_fields(record)
    out: dict[str, dict[str, Any]] = {}
    for sent_name, kept_names in _REGISTERED_AS:
        sent = getattr(reg, sent_name)
        if sent_name == "volume" and not reg.volume_sent:
            continue  # taken at registration, not sent
        name = next((n for n in kept_names if n in record or n in fields), kept_names[-1])
        kept = record.get(name, fields.get(name))
        if sent is None or (not isinstance(kept, int | float) and kept is not None):
            continue
        if kept is None or abs(float(sent) - float(kept)) > 1e-9 * max(1.0, abs(float(kept))):
            out[sent_name] = {"sent": sent, "kept": kept}
    return out


#: What :func:`with_archived` shows of each archived trade (the record's names).
ARCHIVED_KEYS = (
    "direction",
    "entry_price",
    "volume",
    "opened_at",
    "closed_at",
    "close_reason",
    "realised_profit",
    "close_price",
)


def with_archived(view: dict[str, Any], archived: list[dict[str, Any]]) -> dict[str, Any]:
    """``view`` with ``archived``: the earlier trades of its ticket, oldest first, when
    a broker handed the ticket out again (docs/dtms.md §8). Archived, a closed trade and
    its result were in no answer at all; ``dtms export`` writes each whole."""
    if archived:
        shown = []
        for record in archived:
            fields = trade_fields(record)
            shown.append({k: record.get(k, fields.get(k)) for k in ARCHIVED_KEYS})
        view["archived"] = shown
    return view
