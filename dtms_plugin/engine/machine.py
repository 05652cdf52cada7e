"""The state machine of docs/dtms.md §5: one evaluation, at most one step.

``evaluate`` is a pure function: the record, the symbol's snapshot, the quote, the clock
reading and the rules in; the new record, the planned actions, the score and a human
reason out. It is called for every open trade on every cycle and cheaply decides for
itself whether this call scores (a new closed fast bar, or the price ran ≥ 0.5 R against
the trade since the last scoring); deadlines and owed actions are looked at every call.
"""

from __future__ import annotations

from datetime import datetime

from hookspecs import Action, ActionKind, DefensiveState, Quote, ResultCode, SymbolInfo, Trade

from ..settings import DtmsSettings
from .deadlines import flat, market_current, past_gap
from .evaluation import AccountState, Evaluation
from .journal import hedge_replaced
from .planning import exit_price, plan_owed, plan_trail
from .positions import close_time
from .rails import spread_hold
from .record import JournalStatus, TradeRecord
from .score import ScoreBreakdown
from .snapshot import SignalSnapshot
from .tolerance import at_least, at_most
from .volumes import partial_volume

S = DefensiveState
K = ActionKind
Owed = tuple[ActionKind, ...]
Changes = dict[str, object]


def _arm(record: TradeRecord, price: float | None, now: datetime, settings: DtmsSettings) -> bool:
    a = settings.arming
    if now - record.opened_at >= settings.fast_bars(a.age_bars):
        return True
    if price is None or record.r <= 0.0:
        return False
    gain_r = record.sign * (price - record.entry_price) / record.r
    return at_least(gain_r, a.profit_r) or at_most(gain_r, a.loss_r)


def _hedged(
    rec: TradeRecord,
    why: str,
    now: datetime,
    settings: DtmsSettings,
    account: AccountState,
    info: SymbolInfo,
) -> tuple[DefensiveState, Owed, str, Changes]:
    """Rows 7 and 10: HEDGED with a hedge, or on a netting account with the partial close
    that stands in for it. A trade that cannot be partly closed there (the minimum lot,
    or what a partial at WARNING_L2 left) is closed instead (docs/dtms.md §6): HEDGED
    with nothing done would keep the whole exposure at the worst score until the flat
    deadline, where a hedging account's hedge of the minimum offsets all of it."""
    if account.hedging:
        return S.HEDGED, (K.HEDGE,), why, flat(now, settings)
    if partial_volume(rec.volume, settings.actions.partial_fraction, info)[0] is None:
        small = f"{rec.volume:g} lots cannot be partly closed on a netting account"
        return S.CLOSED, (K.CLOSE,), f"{why}; {small}, so closed", {}
    return S.HEDGED, (K.PARTIAL_CLOSE,), why, flat(now, settings)


def _hedge_refused(
    rec: TradeRecord, now: datetime, settings: DtmsSettings, info: SymbolInfo
) -> tuple[TradeRecord, tuple[DefensiveState, DefensiveState] | None, str]:
    """HEDGED whose hedge the account refused (``hedging_not_allowed``: some brokers forbid
    opposite positions on a hedging account too), or whose hedge failed through all its
    retries, does what it does on a netting account (docs/dtms.md §6): the partial close
    in the hedge's place, or the close of a trade too small for one. A retry would be
    refused alike, and a hedge given up would leave HEDGED with nothing done until the
    flat deadline, the whole exposure kept at the worst score."""
    entry = rec.entry(rec.key_for(K.HEDGE))
    if entry is None or not hedge_replaced(entry, settings):
        return rec, None, ""
    why = (
        "the account refuses hedges"
        if entry.code == ResultCode.HEDGING_NOT_ALLOWED
        else f"the hedge failed {entry.attempts} times ({entry.code}: {entry.message})"
    )
    if partial_volume(rec.volume, settings.actions.partial_fraction, info)[0] is None:
        why = f"{why}, and {rec.volume:g} lots cannot be partly closed, so closed"
        return _transition(rec, S.CLOSED, (K.CLOSE,), now, {}), (rec.state, S.CLOSED), why
    warnings = rec.with_warning(f"{why}: partial close instead of the hedge")
    return rec.evolve(owed=(K.PARTIAL_CLOSE,), warnings=warnings), None, why


def _step(
    rec: TradeRecord,
    bd: ScoreBreakdown | None,
    now: datetime,
    settings: DtmsSettings,
    account: AccountState,
    hold: str | None,
    info: SymbolInfo,
    current: bool,
) -> tuple[DefensiveState, Owed, str, Changes] | str | None:
    """The first matching row of the docs/dtms.md §5 table (after "position gone"), as
    (new state, owed intents, why, field changes); a string when a row matched but is
    held back by a rail (``hold``: why the spread rail holds a hedge back); ``None`` when
    nothing applies. Thresholds are reached up to rounding (:mod:`.tolerance`); the
    deadline rows only while the market is ``current`` (:func:`.deadlines.market_current`)."""
    st = rec.state
    if bd is None and st is not S.HEDGED and st is not S.RECOVERING:
        return None  # only the deadline rows apply without a fresh score
    th = settings.thresholds
    ac = settings.actions
    s = bd.total if bd is not None else None
    close_all: Owed = (K.CLOSE,)
    coc = bd is not None and bd.structure <= -1.0 and bd.confluence_against
    if st in (S.HEDGED, S.RECOVERING) and coc:
        return S.CLOSED, close_all, "change of character: structure broke against", {}
    if st is S.HEALTHY and s is not None and at_most(s, th.to_l1):
        return S.WARNING_L1, (K.TIGHTEN_SL,), f"S {s:+.2f} ≤ {th.to_l1:g}", {}
    if st is S.WARNING_L1 and s is not None:
        if at_least(s, th.l1_recover):
            return S.HEALTHY, (), f"S {s:+.2f} ≥ {th.l1_recover:g}", {}
        if at_most(s, th.to_l2):
            return (
                S.WARNING_L2,
                (K.PARTIAL_CLOSE, K.MOVE_SL_BREAKEVEN),
                f"S {s:+.2f} ≤ {th.to_l2:g}",
                {},
            )
    if st is S.WARNING_L2 and s is not None and bd is not None:
        if at_least(s, th.l2_recover):
            return S.WARNING_L1, (), f"S {s:+.2f} ≥ {th.l2_recover:g}", {}
        by_score = at_most(s, th.to_hedge)
        if by_score or (bd.vwap_slope_against and bd.confluence_against):
            why = f"S {s:+.2f} ≤ {th.to_hedge:g}" if by_score else "VWAP slope against"
            if account.hedging and hold:
                return f"hedge held back ({why}): {hold}"
            return _hedged(rec, why, now, settings, account, info)
    if st is S.HEDGED:
        # row 8 only while S is above row 10's threshold: structure +1 at S ≤ to_hedge
        # flipped HEDGED ↔ RECOVERING on every bar, an action each time (docs/dtms.md §5)
        if (
            bd is not None
            and s is not None
            and not at_most(s, th.to_hedge)
            and (bd.structure >= 1.0 or at_least(s, th.recover))
        ):
            changes: Changes = {
                "flat_deadline": None,
                "recovery_deadline": now + settings.fast_bars(ac.recovery_bars),
            }
            owed: Owed = (K.CLOSE_HEDGE,) if rec.hedge_ticket else ()
            return S.RECOVERING, owed, f"S {s:+.2f}, structure {bd.structure:+g}", changes
        if current and rec.flat_deadline is not None and now >= rec.flat_deadline:
            return S.CLOSED, close_all, "flat deadline passed", {}
    if st is S.RECOVERING:
        if s is not None and at_most(s, th.to_hedge):
            if rec.hedge_ticket:
                # the old hedge's close failed or is pending: it is wanted again, so it
                # is kept (its close dropped with the old owed) and no second one opened
                why = f"S {s:+.2f} ≤ {th.to_hedge:g}; hedge {rec.hedge_ticket} kept"
                return S.HEDGED, (), why, flat(now, settings)
            if account.hedging and hold:
                return f"re-hedge held back (S {s:+.2f}): {hold}"
            why = f"S {s:+.2f} ≤ {th.to_hedge:g}"
            return _hedged(rec, why, now, settings, account, info)
        if current and rec.recovery_deadline is not None and now >= rec.recovery_deadline:
            last = s if s is not None else rec.last_score
            if last is None:
                return None
            gone: Changes = {"recovery_deadline": None}
            if at_least(last, th.recover):
                why = f"recovered: S {last:+.2f} at the deadline"
                if not ac.re_add or rec.closed_since_re_add <= 0.0:
                    return S.HEALTHY, (), why, gone
                if account.defensive:  # a re-add is new exposure: vetoed (docs/dtms.md §7)
                    why = f"{why}; no re-add: the account is in defensive mode"
                    return S.HEALTHY, (), why, {**gone, "warnings": rec.with_warning(why)}
                return S.HEALTHY, (K.RE_ADD,), why, gone
            return S.CLOSED, close_all, f"not recovered: S {last:+.2f} at the deadline", gone
    return None


def _transition(
    rec: TradeRecord,
    new: DefensiveState,
    owed: Owed,
    now: datetime,
    changes: Changes,
) -> TradeRecord:
    return rec.evolve(**_transition_changes(rec, new, owed, now, changes))


def _transition_changes(
    rec: TradeRecord, new: DefensiveState, owed: Owed, now: datetime, changes: Changes
) -> Changes:
    """The field changes of entering ``new``: kept apart from ``evolve`` so that a scored
    evaluation that also steps builds one new record, not two."""
    out: Changes = {**changes, "state": new, "seq": rec.seq + 1, "state_entered_at": now}
    if rec.hedge_ticket and new is not S.HEDGED and K.CLOSE not in owed:
        # a hedge still open (its close failed or is pending) is never dropped from owed
        owed = owed if K.CLOSE_HEDGE in owed else (*owed, K.CLOSE_HEDGE)
    out["owed"] = owed
    if new is S.CLOSED:
        out["flat_deadline"] = None
        out["recovery_deadline"] = None
    return out


def _close_settled(rec: TradeRecord) -> Owed:
    """The owed intents once the position of an owed CLOSE is gone: the close is dropped,
    the hedge (if one is still open) is owed its own close."""
    owed = tuple(k for k in rec.owed if k is not K.CLOSE)
    if rec.hedge_ticket and K.CLOSE_HEDGE not in owed:
        owed = (*owed, K.CLOSE_HEDGE)
    return owed


def _has_unsettled(rec: TradeRecord) -> bool:
    """``bool(unsettled(rec))`` without building the tuple: asked on every evaluation."""
    for e in rec.journal:
        if e.status is JournalStatus.PENDING or e.status is JournalStatus.UNKNOWN:
            return True
    return False


def evaluate(
    record: TradeRecord,
    snapshot: SignalSnapshot | None,
    quote: Quote | None,
    now: datetime,
    settings: DtmsSettings,
    symbol_info: SymbolInfo,
    account: AccountState,
    *,
    position_gone: bool = False,
) -> Evaluation:
    """One evaluation of one trade. ``position_gone``: the broker no longer lists it.

    Builds at most one new record (scoring and stepping merged into one ``evolve``) and
    none when nothing moves: then the same record object comes back, which is how the
    caller knows there is nothing to persist."""
    rec = record
    old = rec.state
    hold = spread_hold(snapshot, quote, settings)
    hedge_ok = hold is None
    if position_gone and rec.is_open:
        owed: Owed = (K.CLOSE_HEDGE,) if rec.hedge_ticket else ()
        rec = _transition(rec, S.CLOSED, owed, now, {"closed_at": close_time(rec, now)})
        rec = rec.evolve(close_reason=rec.close_reason or "position gone")
        return _finish(
            rec,
            None,
            "position gone at the broker",
            (old, S.CLOSED),
            quote,
            symbol_info,
            settings,
            hedge_ok,
        )
    if position_gone and K.CLOSE in rec.owed:
        # a close that kept failing, and the position was closed by hand meanwhile: the
        # close is settled, the hedge (if still open) is still owed a close
        rec = rec.evolve(
            owed=_close_settled(rec),
            closed_at=close_time(rec, now),
            close_reason=rec.close_reason or "position gone",
        )
        why = "position gone at the broker while its close was owed"
        return _finish(rec, None, why, None, quote, symbol_info, settings, hedge_ok, True)
    if not rec.is_open:
        retry = False
        if rec.owed and snapshot is not None and not snapshot.is_stale(now):
            bar_time = snapshot.fast_bar.time
            if rec.last_bar_time is None or bar_time > rec.last_bar_time:
                retry = True  # a closed record's "evaluation": a new closed fast bar
                rec = rec.evolve(last_bar_time=bar_time, last_eval_at=now)
        return _finish(rec, None, "closed", None, quote, symbol_info, settings, hedge_ok, retry)
    if _has_unsettled(rec):  # an action's outcome is unknown: settle it before anything else
        return Evaluation(rec, (), None, "waiting: an action's outcome is unknown")
    if K.HEDGE in rec.owed:
        rec, refused, why = _hedge_refused(rec, now, settings, symbol_info)
        if refused is not None:
            return _finish(rec, None, why, refused, quote, symbol_info, settings, hedge_ok)
    price = exit_price(rec.sign, quote) if quote is not None else None
    if rec.r <= 0.0 and snapshot is not None and snapshot.atr:
        rec = rec.evolve(r=snapshot.atr, warnings=rec.with_warning("R set to 1 × ATR"))
    changes: Changes = {}
    if not rec.armed:
        if not _arm(rec, price, now, settings):
            return Evaluation(
                rec, _trail(rec, snapshot, now, quote, symbol_info, settings), None, "not armed"
            )
        changes["armed"] = True
    bd: ScoreBreakdown | None = None
    why = ""
    fresh = current = False
    if snapshot is None:
        why = "no bars yet"
    elif snapshot.is_stale(now):
        why = f"stale data: newest {settings.fast.value} bar closed {snapshot.fast_close_time}"
    else:
        fresh = True
        current = market_current(snapshot, now)
        bar_time = snapshot.fast_bar.time
        last_bar = rec.last_bar_time
        new_bar = last_bar is None or bar_time > last_bar
        if new_bar and last_bar is not None and (rec.flat_deadline or rec.recovery_deadline):
            rec = past_gap(rec, snapshot, last_bar)
        adverse = (
            not new_bar
            and price is not None
            and rec.last_eval_price is not None
            and rec.r > 0.0
            and at_least(
                rec.sign * (rec.last_eval_price - price) / rec.r, settings.arming.adverse_move_r
            )
        )
        if new_bar or adverse:
            bd = snapshot.score(rec.direction)
            if price is not None:
                changes["last_eval_price"] = price
            changes["last_score"] = bd.total
            changes["last_bar_time"] = bar_time
            changes["last_eval_at"] = now
    # ``_step`` reads none of the fields just changed (a fresh score reaches it as ``bd``);
    # without fresh data the market's time stands still, and so do the deadlines
    step = _step(rec, bd, now, settings, account, hold, symbol_info, current) if fresh else None
    transition = None
    if isinstance(step, tuple):
        new, owed, reason, step_changes = step
        changes.update(_transition_changes(rec, new, owed, now, step_changes))
        transition = (old, new)
        why = f"{old}→{new}: {reason}"  # StrEnums format as their values
    elif isinstance(step, str):
        why = step
    if changes:
        rec = rec.evolve(**changes)
    if not why and bd is None:
        why = "no change"
    if not rec.owed:  # the common case; and the journal was found settled above
        trail = _trail(rec, snapshot, now, quote, symbol_info, settings) if bd else ()
        return Evaluation(rec, trail, bd, why, transition)
    return _finish(rec, bd, why, transition, quote, symbol_info, settings, hedge_ok, bd is not None)


def _trail(
    rec: TradeRecord,
    snapshot: SignalSnapshot | None,
    now: datetime,
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
) -> tuple[Action, ...]:
    """The trailing stop's move for the newest closed fast bar, if any (fresh data only)."""
    if snapshot is None or snapshot.trail is None or snapshot.is_stale(now):
        return ()
    action = plan_trail(rec, snapshot.trail, snapshot.fast_bar.time, quote, info, settings)
    return (action,) if action is not None else ()


def _finish(
    rec: TradeRecord,
    bd: ScoreBreakdown | None,
    why: str,
    transition: tuple[DefensiveState, DefensiveState] | None,
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
    hedge_ok: bool,
    retry: bool = False,
) -> Evaluation:
    """Plan the owed actions. ``retry``: this call is an evaluation (a new closed fast
    bar or the adverse-move trigger), so failed actions may be resent (docs/dtms.md §6)."""
    if not rec.owed or _has_unsettled(rec):
        return Evaluation(rec, (), bd, why, transition)
    ev = Evaluation(rec, (), bd, why, transition)
    # the reason text (the whole score breakdown) is built only if an action is sent
    rec, actions, dropped = plan_owed(
        rec, quote, info, settings, spread_ok=hedge_ok, reason=lambda: ev.reason, retry=retry
    )
    return Evaluation(rec, actions, bd, why, transition, tuple(dropped))


def close_record(
    record: TradeRecord, trade: Trade, reason: str, now: datetime
) -> tuple[TradeRecord, tuple[DefensiveState, DefensiveState] | None]:
    """The broker closed the position (``on_trade_closed``): CLOSED, its hedge owed a
    close, the realised result kept for the account rails: the position's (its partial
    closes included, as the host reports it) plus what its hedges realised so far."""
    rec = record.evolve(
        closed_at=trade.closed_at or close_time(record, now),
        close_reason=reason,
        close_price=trade.close_price,
        realised_profit=trade.profit + record.hedge_profit,
    )
    if not record.is_open:
        if K.CLOSE in record.owed:  # a failed close, and the position closed meanwhile
            rec = rec.evolve(owed=_close_settled(record))
        return rec, None
    owed: Owed = (K.CLOSE_HEDGE,) if record.hedge_ticket else ()
    return _transition(rec, S.CLOSED, owed, now, {}), (record.state, S.CLOSED)
