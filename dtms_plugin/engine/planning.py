"""Action planning (docs/dtms.md §6): turn the intents a state owes into broker-ready
actions.

The broker's rules are applied here, before anything is sent, so that a refusal is the
exception and not the plan: stops only tighten, prices are rounded to the symbol's
digits, an SL inside the stops level (plus spread) is moved out to it, a stop move or a
close waits while the price is inside the freeze level of the stop or target, volumes
are floored to the step and skipped below the minimum (:mod:`.volumes`).

Each intent yields one of three outcomes: ``Send`` (an action), ``Skip`` (the intent is
dropped with a note: not tighter, below minimum...) or ``Wait`` (kept for the next
evaluation: freeze level, wide spread, no quote).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hookspecs import Action, ActionKind, DefensiveState, Quote, SymbolInfo, inside_freeze

from ..settings import DtmsSettings
from .record import MAX_WARNINGS, TRAIL_MARK, JournalStatus, TradeRecord
from .tolerance import TOLERANCE as _EPS
from .volumes import hedge_volume, partial_volume, re_add_volume

SOURCE = "dtms"  # the plugin name the engine's actions carry (``Action.source``)
_CLOSING = (ActionKind.CLOSE, ActionKind.CLOSE_HEDGE)
#: the intents that change or close the position itself, which its freeze level holds
#: (a hedge or re-add opens a position of its own; a hedge carries no stop or target)
_FROZEN_WAIT = (
    ActionKind.CLOSE,
    ActionKind.PARTIAL_CLOSE,
    ActionKind.TIGHTEN_SL,
    ActionKind.MOVE_SL_BREAKEVEN,
)


@dataclass(frozen=True, slots=True)
class Send:
    action: Action


@dataclass(frozen=True, slots=True)
class Skip:
    note: str
    #: what the intent was for holds already (a stop asked to tighten is as tight as the
    #: broker's rules allow): dropped, but nothing left undone
    met: bool = False


@dataclass(frozen=True, slots=True)
class Wait:
    note: str


Outcome = Send | Skip | Wait


@dataclass(frozen=True, slots=True)
class Dropped:
    """An owed intent left out of ``owed`` without being done: skipped by a broker rule
    (``why``: below the minimum volume, not tighter...) or given up after its retries
    (``given_up``). Kept on the record as a warning (:attr:`text`) and handed to the
    caller as data, so a run can count what its ladder meant to do and could not."""

    kind: ActionKind
    why: str
    given_up: bool = False
    met: bool = False  # :attr:`Skip.met`: dropped with nothing left undone

    @property
    def text(self) -> str:
        return f"{self.kind.value} {'given up after' if self.given_up else 'skipped:'} {self.why}"


#: an action's reason, or a function that builds it: the text (a whole score breakdown)
#: costs more than the planning, and most plans send nothing.
Reason = str | Callable[[], str]


def exit_price(sign: int, quote: Quote) -> float:
    """The price the position would close at: bid for a buy, ask for a sell."""
    return quote.bid if sign > 0 else quote.ask


def _held(quote: Quote | None) -> str:
    """Why the spread rail (``spread_ok`` False) holds an order: no quote, or the spread."""
    return "no quote" if quote is None else "spread above the limit"


def stops_limit(sign: int, quote: Quote, info: SymbolInfo) -> float:
    """The nearest a stop may be to the price it closes at: the stops level plus the
    spread behind it (docs/dtms.md §6)."""
    return exit_price(sign, quote) - sign * (info.stops_level + max(quote.spread, 0.0))


def place_sl(
    record: TradeRecord, target: float, quote: Quote, info: SymbolInfo
) -> tuple[float | None, str]:
    """``target`` adjusted to the broker's rules; ``None`` when it would not tighten."""
    sign = record.sign
    limit = stops_limit(sign, quote, info)
    note = ""
    sl = target
    if sign * (sl - limit) > 0.0:
        sl = limit
        note = f"moved out to the stops level ({limit:.{info.digits}f})"
    sl = round(sl, info.digits)
    if sign * (sl - limit) > _EPS:
        sl = round(sl - sign * info.point, info.digits)
    current = record.stop_loss
    if current is not None and sign * (sl - current) <= info.point / 2:
        return None, f"SL {sl:.{info.digits}f} is not tighter than {current:.{info.digits}f}"
    return sl, note


def in_freeze(record: TradeRecord, quote: Quote, info: SymbolInfo) -> bool:
    """Whether the broker would refuse to change or close the position now (MetaTrader's
    10029 FROZEN, docs/mt5.md; :func:`hookspecs.inside_freeze`)."""
    sign = record.sign
    return inside_freeze(
        sign, exit_price(sign, quote), record.stop_loss, record.take_profit, info.freeze_level
    )


def breakeven_level(record: TradeRecord, quote: Quote, info: SymbolInfo) -> float | None:
    """docs/dtms.md §6: breakeven = entry ± max(spread, stops level), only when the price is
    beyond it; moved out to the stops level (plus spread) when closer to the price than
    that, rounded to the digits, and kept only while still at or beyond the entry.
    ``None`` otherwise (a losing trade, or the level would leave the stop short of the
    entry): the caller falls back to tightening behind the price."""
    sign = record.sign
    entry = record.entry_price
    be = entry + sign * max(quote.spread, info.stops_level)
    price = exit_price(sign, quote)
    if sign * (price - be) <= 0.0:
        return None
    limit = stops_limit(sign, quote, info)
    sl = round(be if sign * (be - limit) <= 0.0 else limit, info.digits)
    if sign * (sl - limit) > _EPS:  # rounding crossed the level: one point back
        sl = round(sl - sign * info.point, info.digits)
    if sign * (sl - entry) < -_EPS:
        return None
    return sl


def plan_intent(
    record: TradeRecord,
    intent: ActionKind,
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
    *,
    spread_ok: bool,
    reason: Reason,
) -> Outcome:
    key = record.key_for(intent)
    ticket = record.ticket
    ac = settings.actions

    def send(kind: ActionKind, **params: object) -> Send:
        text = reason if isinstance(reason, str) else reason()
        return Send(Action(ticket, kind, params, text, key, SOURCE))

    if intent in _FROZEN_WAIT and quote is not None and in_freeze(record, quote, info):
        # docs/dtms.md §6: inside the freeze level the action waits (a close too: the
        # broker refuses to close a frozen position as it refuses to move its stop)
        return Wait(f"{intent.value} waits: price inside the freeze level of the stop or target")
    if intent is ActionKind.CLOSE:
        if record.hedge_ticket:
            return send(intent, hedge_ticket=record.hedge_ticket)
        return send(intent)
    if intent is ActionKind.CLOSE_HEDGE:
        if record.hedge_ticket is None:
            return Skip("no hedge open")
        return send(intent, hedge_ticket=record.hedge_ticket)
    if intent is ActionKind.PARTIAL_CLOSE:
        vol, note = partial_volume(record.volume, ac.partial_fraction, info)
        return Skip(note) if vol is None else send(intent, volume=vol)
    if intent is ActionKind.HEDGE:
        if not spread_ok:
            return Wait(f"hedge held: {_held(quote)}")
        vol, note = hedge_volume(record.volume, ac.hedge_fraction, info)
        return Skip(note) if vol is None else send(intent, volume=vol)
    if intent is ActionKind.RE_ADD:
        if not spread_ok:
            return Wait(f"re-add held: {_held(quote)}")
        vol, note = re_add_volume(record.closed_since_re_add, ac.re_add_fraction, info)
        return Skip(note) if vol is None else send(intent, volume=vol)
    # stop-loss intents need a live price
    if quote is None:
        return Wait("no quote")
    sign = record.sign
    kind = intent
    target: float | None = None
    if intent is ActionKind.MOVE_SL_BREAKEVEN:
        target = breakeven_level(record, quote, info)
        if target is None:
            kind = ActionKind.TIGHTEN_SL
    if target is None:
        if record.r <= 0.0:
            return Skip("R unknown: cannot place a stop R-relative")
        target = exit_price(sign, quote) - sign * ac.tighten_r * record.r
    sl, note = place_sl(record, target, quote, info)
    if sl is None:
        return Skip(note, met=True)
    return send(kind, stop_loss=sl)


#: the states whose trades the trailing stop follows: not HEDGED (the hedge and the flat
#: deadline own the position there), nor CLOSED
TRAILED = frozenset(
    {
        DefensiveState.HEALTHY,
        DefensiveState.WARNING_L1,
        DefensiveState.WARNING_L2,
        DefensiveState.RECOVERING,
    }
)
_SL_INTENTS = (ActionKind.TIGHTEN_SL, ActionKind.MOVE_SL_BREAKEVEN)


def plan_trail(
    record: TradeRecord,
    trail: tuple[float, float, float] | None,
    bar_time: datetime,
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
) -> Action | None:
    """The trailing stop's move on this fast bar (docs/dtms.md §6), if it tightens: the
    highest high (lowest low) of the window minus (plus) a multiple of its mean true
    range. One key per trade, state entry and bar, so a replayed bar never moves it
    twice; never while a ladder stop move is owed (that one is the plan)."""
    if (
        trail is None
        or quote is None
        or record.state not in TRAILED
        or any(k in record.owed for k in _SL_INTENTS)
        or in_freeze(record, quote, info)
    ):
        return None
    key = f"{record.ticket}:{record.seq}{TRAIL_MARK}{int(bar_time.timestamp())}"
    if record.entry(key) is not None:
        return None
    high, low, atr = trail
    m = settings.trail.atr_multiple
    sign = record.sign
    target = high - m * atr if sign > 0 else low + m * atr
    if sign * (target - stops_limit(sign, quote, info)) > 0.0 and not _has_trailed(record):
        # past the price before the trail ever held the trade: the window's extreme is
        # older than the trade (a buy opened far below the recent high), and a stop pinned
        # at the limit would close it at its next tick. Once the trail has held the trade,
        # a level past the price is the Chandelier's exit (docs/dtms.md §6).
        return None
    sl, _ = place_sl(record, target, quote, info)
    if sl is None:
        return None
    reason = f"trailing stop: {settings.trail.period}-bar extreme ∓ {m:g} × ATR"
    return Action(record.ticket, ActionKind.TIGHTEN_SL, {"stop_loss": sl}, reason, key, SOURCE)


def _has_trailed(record: TradeRecord) -> bool:
    """The trail has moved this trade's stop (the journal keeps its newest move)."""
    return any(TRAIL_MARK in e.key and e.status is JournalStatus.DONE for e in record.journal)


def _once(reason: Reason) -> Reason:
    """A lazy reason built at most once, however many intents are sent."""
    if isinstance(reason, str):
        return reason
    built: list[str] = []

    def text() -> str:
        if not built:
            built.append(reason())
        return built[0]

    return text


def plan_owed(
    record: TradeRecord,
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
    *,
    spread_ok: bool,
    reason: Reason,
    retry: bool = True,
) -> tuple[TradeRecord, tuple[Action, ...], list[Dropped]]:
    """Actions for every owed intent that is neither done, nor awaiting an answer, nor out
    of retries. Skipped and exhausted intents leave ``owed`` with a warning, and are
    returned as :class:`Dropped`.

    A failed intent is resent only when ``retry`` (docs/dtms.md §6: on the next evaluation, i.e.
    a new closed fast bar or the adverse-move trigger, not the next cycle). A close or a
    hedge close is never given up: once its retries are exhausted it stays owed and is
    retried once per evaluation (the journal carries the "manual attention" warning)."""
    actions: list[Action] = []
    keep: list[ActionKind] = []
    dropped: list[Dropped] = []
    max_attempts = 1 + settings.actions.max_retries
    reason = _once(reason)
    for intent in record.owed:
        entry = record.entry(record.key_for(intent))
        if entry is not None:
            if entry.status is JournalStatus.DONE:
                continue
            if entry.status in (JournalStatus.PENDING, JournalStatus.UNKNOWN):
                keep.append(intent)  # resolved by re-reading the position first
                continue
            if not retry:
                keep.append(intent)
                continue
            if entry.attempts >= max_attempts and intent not in _CLOSING:
                dropped.append(Dropped(intent, f"{entry.attempts} attempts", given_up=True))
                continue
        outcome = plan_intent(
            record, intent, quote, info, settings, spread_ok=spread_ok, reason=reason
        )
        if isinstance(outcome, Send):
            actions.append(outcome.action)
            keep.append(intent)
        elif isinstance(outcome, Wait):
            keep.append(intent)
        else:
            dropped.append(Dropped(intent, outcome.note, met=outcome.met))
    owed = tuple(keep)
    if owed != record.owed or dropped:
        warnings = record.warnings
        for d in dropped:
            warnings = (*warnings, d.text)
        record = record.evolve(owed=owed, warnings=warnings[-MAX_WARNINGS:])
    return record, tuple(actions), dropped
