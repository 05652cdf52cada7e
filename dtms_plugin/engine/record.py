"""The persisted trade record (docs/dtms.md §8) and its action journal.

Records are immutable: every transition or action result produces a new one (``evolve``,
or ``dataclasses.replace``), so an evaluation can be computed, inspected and thrown away
without side effects. ``to_json``/``from_json`` give a JSON-only dict (ISO times, enum
values) for the store, which never unpickles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from hookspecs import ActionKind, DataError, DefensiveState, Direction, Trade, parse_direction

MAX_WARNINGS = 20
MAX_JOURNAL = 60
#: in the key of a trailing-stop move, one per bar (``"<ticket>:<seq>:trail@<epoch>"``)
TRAIL_MARK = ":trail@"


class JournalStatus(StrEnum):
    PENDING = "pending"  # written before the broker call; after a crash: outcome unknown
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the broker did not say (timeout): re-read before any resend


#: the statuses of an entry whose outcome is not known yet (settled from the broker)
_UNSETTLED = (JournalStatus.PENDING, JournalStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One planned action's fate. ``key`` is ``"{ticket}:{seq}:{intent}"``; ``kind`` is the
    broker action actually sent (a breakeven intent may fall back to ``tighten_sl``)."""

    key: str
    kind: ActionKind
    params: Mapping[str, Any]
    status: JournalStatus
    attempts: int
    code: str
    message: str
    at: datetime
    new_ticket: int | None = None
    #: refusals of the current (or the just ended) wait: answers that say "not now"
    #: (:data:`~dtms_plugin.engine.journal.WAITS`), which are not counted in ``attempts``
    waits: int = 0

    @property
    def intent(self) -> str:
        return self.key.rsplit(":", 1)[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "params": dict(self.params),
            "status": self.status.value,
            "attempts": self.attempts,
            "code": self.code,
            "message": self.message,
            "at": self.at.isoformat(),
            "new_ticket": self.new_ticket,
            "waits": self.waits,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> JournalEntry:
        return cls(
            key=str(d["key"]),
            kind=ActionKind(d["kind"]),
            params=dict(d.get("params") or {}),
            status=JournalStatus(d["status"]),
            attempts=int(d["attempts"]),
            code=str(d.get("code", "")),
            message=str(d.get("message", "")),
            at=_time(d["at"]),
            new_ticket=_opt_int(d.get("new_ticket")),
            waits=int(d.get("waits", 0)),
        )


@dataclass(frozen=True)
class TradeRecord:
    """One defended trade (docs/dtms.md §8). Frozen, and deliberately without ``__slots__``: a
    new record per scored bar is the hot path of a replay, and copying an instance dict
    costs a fraction of setting 35 slots one by one (see ``evolve``)."""

    ticket: int
    symbol: str
    direction: Direction
    volume: float
    initial_volume: float
    entry_price: float
    initial_sl: float | None
    r: float  # risk distance in price; 0.0 until known (no SL and no ATR yet)
    stop_loss: float | None
    take_profit: float | None
    opened_at: datetime
    state: DefensiveState = DefensiveState.HEALTHY
    seq: int = 0  # state-entry sequence number: part of every idempotency key
    state_entered_at: datetime | None = None
    armed: bool = False
    flat_deadline: datetime | None = None
    recovery_deadline: datetime | None = None
    hedge_ticket: int | None = None
    hedge_volume: float = 0.0
    closed_volume: float = 0.0
    last_eval_price: float | None = None
    last_score: float | None = None
    last_bar_time: datetime | None = None
    last_eval_at: datetime | None = None
    owed: tuple[ActionKind, ...] = ()  # intents of the current state not yet done
    warnings: tuple[str, ...] = ()
    journal: tuple[JournalEntry, ...] = ()
    closed_at: datetime | None = None
    close_reason: str = ""
    realised_profit: float | None = None  # the trade's and its hedges' closing deals
    comment: str = ""
    close_price: float | None = None  # the price of the closing deal that ended the trade
    magic: int = 0  # the position's magic number: which program opened it
    hedge_profit: float = 0.0  # realised by its hedges so far (docs/dtms.md §7)
    #: when a close the broker's listing proved false was undone (docs/dtms.md §8): the
    #: broker's word is its result from then on, whatever reason it gives
    reopened_at: datetime | None = None
    #: of ``closed_volume``, what a done re-add already answered for: a re-add is a share
    #: of the volume closed since the re-add before (docs/dtms.md §6), never of lots an
    #: earlier re-add put back already
    re_added_closed: float = 0.0
    #: what the trade realised before its own close, each at its deal's time: its
    #: partial closes and its hedges' closes (docs/dtms.md §7: the daily loss counts
    #: each part on its own UTC day); the rest of ``realised_profit`` is its close's
    realised_parts: tuple[tuple[datetime, float], ...] = ()

    @property
    def sign(self) -> int:
        return 1 if self.direction == "buy" else -1

    @property
    def is_open(self) -> bool:
        return self.state is not DefensiveState.CLOSED

    @property
    def active(self) -> bool:
        """Still needs the engine: open, closed with actions owed (e.g. a hedge), or closed
        with a hedge whose outcome is not known yet. The trade server may fill a timed-out
        hedge after the trade closed (docs/dtms.md §6): such a record is watched until its
        journal settles it, and a hedge found then is owed its close (§5, row 1), where a
        record let go left the late hedge open with nothing watching it."""
        if self.state is not DefensiveState.CLOSED or self.owed:
            return True
        return any(e.kind is ActionKind.HEDGE and e.status in _UNSETTLED for e in self.journal)

    @property
    def closed_since_re_add(self) -> float:
        """The volume DTMS closed since the last done re-add (all it closed, before one):
        what row 11's re-add is a share of (docs/dtms.md §5)."""
        return round(self.closed_volume - self.re_added_closed, 8)

    @property
    def closing(self) -> bool:
        """CLOSED by DTMS but its close not done yet (failing, or awaiting an answer): the
        position is still open and must be left alone by anyone else."""
        return self.state is DefensiveState.CLOSED and ActionKind.CLOSE in self.owed

    def entry(self, key: str) -> JournalEntry | None:
        for e in reversed(self.journal):
            if e.key == key:
                return e
        return None

    def key_for(self, intent: ActionKind) -> str:
        return f"{self.ticket}:{self.seq}:{intent}"  # a StrEnum formats as its value

    def evolve(self, **changes: Any) -> TradeRecord:
        """A copy with ``changes``: ``dataclasses.replace`` without its per-call
        introspection and ``__init__``. One dict copy instead of 35 attribute writes,
        as this runs for every scored trade on every bar (no validation is skipped:
        ``replace`` re-runs only the dataclass ``__init__``, which validates nothing)."""
        if not changes.keys() <= _NAME_SET:
            unknown = sorted(changes.keys() - _NAME_SET)
            raise TypeError(f"TradeRecord has no field(s) {unknown}")
        new = _NEW(TradeRecord)
        state = self.__dict__.copy()
        state.update(changes)
        _SET(new, "__dict__", state)
        return new

    def with_warning(self, text: str) -> tuple[str, ...]:
        return (*self.warnings, text)[-MAX_WARNINGS:]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _NAMES:
            v = getattr(self, name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, StrEnum):
                v = v.value
            elif name == "owed":
                v = [k.value for k in v]
            elif name == "warnings":
                v = list(v)
            elif name == "journal":
                v = [e.to_json() for e in v]
            elif name == "realised_parts":
                v = [[at.isoformat(), profit] for at, profit in v]
            out[name] = v
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TradeRecord:
        try:
            return cls(
                ticket=int(d["ticket"]),
                symbol=str(d["symbol"]),
                direction=parse_direction(d["direction"]),
                volume=float(d["volume"]),
                initial_volume=float(d["initial_volume"]),
                entry_price=float(d["entry_price"]),
                initial_sl=_opt_float(d.get("initial_sl")),
                r=float(d["r"]),
                stop_loss=_opt_float(d.get("stop_loss")),
                take_profit=_opt_float(d.get("take_profit")),
                opened_at=_time(d["opened_at"]),
                state=DefensiveState(d["state"]),
                seq=int(d["seq"]),
                state_entered_at=_opt_time(d.get("state_entered_at")),
                armed=bool(d["armed"]),
                flat_deadline=_opt_time(d.get("flat_deadline")),
                recovery_deadline=_opt_time(d.get("recovery_deadline")),
                hedge_ticket=_opt_int(d.get("hedge_ticket")),
                hedge_volume=float(d.get("hedge_volume", 0.0)),
                closed_volume=float(d.get("closed_volume", 0.0)),
                last_eval_price=_opt_float(d.get("last_eval_price")),
                last_score=_opt_float(d.get("last_score")),
                last_bar_time=_opt_time(d.get("last_bar_time")),
                last_eval_at=_opt_time(d.get("last_eval_at")),
                owed=tuple(ActionKind(k) for k in d.get("owed", ())),
                warnings=tuple(str(w) for w in d.get("warnings", ())),
                journal=tuple(JournalEntry.from_json(e) for e in d.get("journal", ())),
                closed_at=_opt_time(d.get("closed_at")),
                close_reason=str(d.get("close_reason", "")),
                realised_profit=_opt_float(d.get("realised_profit")),
                comment=str(d.get("comment", "")),
                close_price=_opt_float(d.get("close_price")),
                hedge_profit=float(d.get("hedge_profit", 0.0)),
                magic=int(d.get("magic", 0)),
                reopened_at=_opt_time(d.get("reopened_at")),
                re_added_closed=_re_added_closed(d),
                realised_parts=tuple(
                    (_time(at), float(profit)) for at, profit in d.get("realised_parts", ())
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"trade record {d.get('ticket')!r}: {exc!r}") from None


def _re_added_closed(d: Mapping[str, Any]) -> float:
    """``re_added_closed``. A record an earlier version wrote has none: when its journal
    holds a re-add done, that version's re-add answered for every lot closed until then
    (it re-added a share of all of them), so all of them count as re-added, not none,
    which would re-add the same lots again at the next recovery."""
    if "re_added_closed" in d:
        return float(d["re_added_closed"])
    done = any(
        isinstance(e, Mapping)
        and e.get("kind") == ActionKind.RE_ADD.value
        and e.get("status") == JournalStatus.DONE.value
        for e in d.get("journal", ())
    )
    return float(d.get("closed_volume", 0.0)) if done else 0.0


_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TradeRecord))
_NAME_SET = frozenset(_NAMES)
_SET = object.__setattr__
_NEW = object.__new__


def risk_from_stop(direction: str, entry: float, stop: float | None) -> float:
    """The risk a trade's stop says, in price: its distance from the entry on the losing
    side; 0.0 (unknown) for no stop, or one at or past the entry, which was moved there
    after the open (:func:`register`)."""
    if stop is None:
        return 0.0
    risk = (entry - stop) if direction == "buy" else (stop - entry)
    return risk if risk > 0.0 else 0.0


def register(trade: Trade, atr: float | None, now: datetime) -> TradeRecord:
    """A new record for ``trade``: R from its stop loss, else 1 × ATR of the signal
    timeframe, else 0.0 (filled in by the first evaluation that has an ATR).

    A stop at or past the entry (at breakeven, or locking in profit) is not one the trade
    was opened with, which a broker refuses on that side, but one moved there since: a
    trade adopted after its record was lost, or registered again with a server whose
    store was. It says nothing of the risk taken (R from it was a few points, and a
    tightened stop went to within those points of the price, or it was the profit locked),
    so such a trade takes R as a trade without a stop does (docs/dtms.md §1)."""
    risk = risk_from_stop(trade.direction, trade.entry_price, trade.stop_loss)
    r = risk if risk > 0.0 else (atr or 0.0)
    return TradeRecord(
        ticket=trade.ticket,
        symbol=trade.symbol,
        direction=trade.direction,
        volume=trade.volume,
        initial_volume=trade.volume,
        entry_price=trade.entry_price,
        initial_sl=trade.stop_loss,
        r=r,
        stop_loss=trade.stop_loss,
        take_profit=trade.take_profit,
        opened_at=trade.opened_at,
        state_entered_at=now,
        comment=trade.comment,
        magic=trade.magic,
    )


def _time(v: Any) -> datetime:
    t = datetime.fromisoformat(str(v))
    if t.tzinfo is None:
        raise ValueError(f"naive time {v!r}")
    return t


def _opt_time(v: Any) -> datetime | None:
    return None if v is None else _time(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


class ClosedTrade(Protocol):
    """What the account rails read of a closed trade (docs/dtms.md §7): a
    :class:`TradeRecord`, or the shared record of a close that ``dtms serve`` replicas
    keep in Redis (docs/scaling.md), where the replica judging the rails does not hold
    the trades the others closed."""

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def close_reason(self) -> str: ...

    @property
    def realised_profit(self) -> float | None: ...

    @property
    def ticket(self) -> int: ...

    @property
    def opened_at(self) -> datetime: ...
