"""The action journal (docs/dtms.md §6): pending before the broker call, then done / failed /
unknown with the broker's code, and the effect of a done action on the record.

Pure functions: the executor (local strategy, DTMS server) calls ``begin`` and persists
before it calls the broker, then ``finish`` with the result and persists again. A key
that is done is never planned again, so a replayed transition or a restart can never
repeat a partial close. An entry left pending by a crash, or unknown after a timeout, is
settled by ``settle`` from a fresh read of the position, never by resending blindly.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from hookspecs import Action, ActionKind, ActionResult, ResultCode, Trade

from ..settings import DtmsSettings
from .record import (
    MAX_JOURNAL,
    MAX_WARNINGS,
    TRAIL_MARK,
    JournalEntry,
    JournalStatus,
    TradeRecord,
)
from .tolerance import TOLERANCE as _VOL_EPS

HEDGE_COMMENT = "DTMS_HEDGE_{ticket}"
READD_COMMENT = "DTMS_READD_{ticket}"


_SETTLED = (JournalStatus.DONE, JournalStatus.FAILED)


def _put(record: TradeRecord, entry: JournalEntry) -> tuple[JournalEntry, ...]:
    """The journal with ``entry`` in place of its key's last one. A trailing-stop entry
    also replaces the older *settled* trail entries: a bar never comes back, so they can
    no longer be asked about, and the journal stays short (every evaluation reads it).
    The newest done one stays until ``entry`` is done itself: it says the trail has held
    the trade (``planning._has_trailed``), which a refused move must not make forgotten."""
    if TRAIL_MARK in entry.key:
        held = None
        if entry.status is not JournalStatus.DONE:
            done = [
                e for e in record.journal if TRAIL_MARK in e.key and e.status is JournalStatus.DONE
            ]
            held = done[-1] if done else None
        kept = tuple(
            e
            for e in record.journal
            if e.key != entry.key
            and (e is held or not (TRAIL_MARK in e.key and e.status in _SETTLED))
        )
    else:
        kept = tuple(e for e in record.journal if e.key != entry.key)
    return (*kept, entry)[-MAX_JOURNAL:]


def begin(record: TradeRecord, action: Action, now: datetime) -> TradeRecord:
    """Journal ``action`` as pending (one more attempt) before it is sent. An action that
    waits (its last answer was one of :data:`WAITS`) carries its count of refusals on."""
    prev = record.entry(action.key)
    entry = JournalEntry(
        key=action.key,
        kind=action.kind,
        params=dict(action.params),
        status=JournalStatus.PENDING,
        attempts=(prev.attempts if prev else 0) + 1,
        code="",
        message="",
        at=now,
        waits=prev.waits if prev is not None and prev.code in WAITS else 0,
    )
    return record.evolve(journal=_put(record, entry))


def _drop_owed(record: TradeRecord, intent: str) -> tuple[ActionKind, ...]:
    return tuple(k for k in record.owed if k != intent)  # a StrEnum equals its value


def _done_changes(
    record: TradeRecord, entry: JournalEntry, filled: float | None
) -> dict[str, object]:
    """The effect of a done action on the record's own picture of the position (as
    field changes, so ``finish`` builds one new record, not two). A partial close or a
    hedge books the lots that executed when the broker says (``filled``: an IOC order
    fills part, a close is capped at the symbol's maximum), else the lots asked: booking
    the lots asked made the next read of the position look like a change made outside
    DTMS, and the record then carried a closed volume that was never closed."""
    p = entry.params
    kind = entry.kind
    changes: dict[str, object] = {"owed": _drop_owed(record, entry.intent)}
    if kind in (ActionKind.TIGHTEN_SL, ActionKind.MOVE_SL_BREAKEVEN):
        changes["stop_loss"] = float(p["stop_loss"])
    elif kind is ActionKind.PARTIAL_CLOSE:
        vol = float(p["volume"]) if filled is None else filled
        changes["volume"] = round(record.volume - vol, 8)
        changes["closed_volume"] = round(record.closed_volume + vol, 8)
    elif kind is ActionKind.HEDGE:
        changes["hedge_ticket"] = entry.new_ticket
        changes["hedge_volume"] = float(p["volume"]) if filled is None else filled
        if not record.is_open and entry.new_ticket is not None:
            # a hedge of unknown outcome that filled after the trade closed: CLOSED owes
            # the close of a hedge that is open (docs/dtms.md §5, row 1)
            owed = changes["owed"]
            assert isinstance(owed, tuple)
            if ActionKind.CLOSE_HEDGE not in owed:
                changes["owed"] = (*owed, ActionKind.CLOSE_HEDGE)
    elif kind in (ActionKind.CLOSE_HEDGE, ActionKind.CLOSE):
        changes["hedge_ticket"] = None
        changes["hedge_volume"] = 0.0
    elif kind is ActionKind.RE_ADD:
        # the closed volume this re-add was a share of is answered for: the next re-add is
        # a share of what closes after it, so re-adds never put back more than was closed
        changes["re_added_closed"] = record.closed_volume
    return changes


def finish(
    record: TradeRecord,
    action: Action,
    result: ActionResult,
    now: datetime,
    settings: DtmsSettings,
) -> TradeRecord:
    """Record the broker's answer for ``action`` and apply its effect when done.

    A refusal of :data:`WAITS` ("not now": the freeze level, a closed market, trading
    switched off) is no fault of the action and passes by itself, so it is not counted
    against the retries (docs/dtms.md §6: inside the freeze level the action waits): the
    action is sent again on each evaluation while its state holds, and the entry counts
    the refusals of the wait in ``waits`` instead (the record says the wait once, when it
    starts). A hedge refused because the account forbids hedging is not retried either:
    the machine plans what a netting account does instead (``machine.py``)."""
    prev = record.entry(action.key)
    attempts = prev.attempts if prev else 1
    waits = prev.waits if prev else 0
    code = result.code
    done = result.ok or code is ResultCode.NO_CHANGES
    # closing what is already gone is what was wanted
    if code is ResultCode.NOT_FOUND and action.kind in (ActionKind.CLOSE, ActionKind.CLOSE_HEDGE):
        done = True
    if done:
        status = JournalStatus.DONE
    elif code is ResultCode.UNKNOWN_OUTCOME:
        status = JournalStatus.UNKNOWN
    else:
        status = JournalStatus.FAILED
    waiting = status is JournalStatus.FAILED and code in WAITS
    if waiting:
        attempts, waits = max(attempts - 1, 0), waits + 1
    entry = JournalEntry(
        key=action.key,
        kind=action.kind,
        params=dict(action.params),
        status=status,
        attempts=attempts,
        code=code.value,
        message=result.message,
        at=now,
        new_ticket=result.new_ticket,
        waits=waits,
    )
    journal = _put(record, entry)
    if status is JournalStatus.DONE:
        return record.evolve(journal=journal, **_done_changes(record, entry, result.filled_volume))
    if waiting:
        if waits > 1 or TRAIL_MARK in action.key:  # a trail move is the bar's own: no wait
            return record.evolve(journal=journal)
        why = (
            f"{action.kind.value} waits: {code.value} ({result.message}); sent again on each "
            "evaluation while the state holds, not counted as a retry"
        )
        return record.evolve(journal=journal, warnings=record.with_warning(why))
    record = record.evolve(journal=journal)
    if hedge_replaced(entry, settings):
        return record  # kept owed: the machine replaces it (``machine._hedge_refused``)
    if status is JournalStatus.FAILED:
        exhausted = attempts >= 1 + settings.actions.max_retries
        if action.kind in CLOSING:
            # never abandoned: the position (or its hedge) would stay open unwatched
            if exhausted:
                text = attention_text(record, entry)
                kept = tuple(w for w in record.warnings if not w.startswith(_ATTENTION_HEAD))
                return record.evolve(warnings=(*kept, text)[-MAX_WARNINGS:])
            return record
        if code in _FINAL or exhausted:
            why = f"{action.kind.value} failed ({code.value}: {result.message}); given up"
            return record.evolve(
                owed=_drop_owed(record, entry.intent),
                warnings=record.with_warning(why),
            )
    return record


def hedge_replaced(entry: JournalEntry, settings: DtmsSettings) -> bool:
    """Whether ``entry`` is a hedge the machine replaces by the partial close of a netting
    account (docs/dtms.md §6): refused by the account (``hedging_not_allowed``), or
    failed through its retries for a cause a retry could have changed."""
    if entry.kind is not ActionKind.HEDGE or entry.status is not JournalStatus.FAILED:
        return False
    if entry.code == ResultCode.HEDGING_NOT_ALLOWED:
        return True
    return entry.attempts > settings.actions.max_retries and entry.code not in _FINAL


CLOSING = (ActionKind.CLOSE, ActionKind.CLOSE_HEDGE)
#: failures a retry cannot change: the position is gone, or a plugin vetoed the order
_FINAL = (ResultCode.NOT_FOUND, ResultCode.VETOED)
#: refusals that say "not now" and pass by themselves: the price inside the freeze level
#: of a stop or target, the market closed, trading switched off (MetaTrader's Algo
#: Trading button). The action waits for them, its retries untouched.
WAITS = (ResultCode.FROZEN, ResultCode.MARKET_CLOSED, ResultCode.TRADING_DISABLED)
_ATTENTION_HEAD = "close of "
_ATTENTION_TAIL = ": manual attention needed"


def attention_text(record: TradeRecord, entry: JournalEntry) -> str:
    """The warning of a close (or hedge close) whose retries are exhausted."""
    hedge = entry.params.get("hedge_ticket")
    if entry.kind is ActionKind.CLOSE_HEDGE:
        what = f"hedge {hedge} of ticket {record.ticket}"
    elif hedge:
        what = f"ticket {record.ticket} and hedge {hedge}"
    else:
        what = f"ticket {record.ticket}"
    return f"{_ATTENTION_HEAD}{what} failed {entry.attempts} times{_ATTENTION_TAIL}"


def needs_attention(record: TradeRecord, key: str, settings: DtmsSettings) -> str | None:
    """The warning text when the close journaled under ``key`` failed with its retries
    exhausted (the executor logs it at ERROR); ``None`` otherwise."""
    entry = record.entry(key)
    if (
        entry is None
        or entry.kind not in CLOSING
        or entry.status is not JournalStatus.FAILED
        or entry.attempts < 1 + settings.actions.max_retries
    ):
        return None
    return attention_text(record, entry)


def find_by_comment(positions: Iterable[Trade], comment: str) -> Trade | None:
    for pos in positions:
        if pos.comment == comment:
            return pos
    return None


#: how much earlier than its journal entry a position opened by an action may be stamped:
#: the host's clock and the trade server's differ, and MetaTrader stamps a position to the
#: whole second (the host's own search for a lost order allows the clocks 30 s as well:
#: docs/mt5.md, "An order whose answer is lost")
OPEN_SLACK = timedelta(seconds=30)
_OUR_COMMENTS = ("DTMS_HEDGE_", "DTMS_READD_")


def find_opened(
    record: TradeRecord,
    entry: JournalEntry,
    positions: Iterable[Trade],
    *,
    known: Collection[int] = (),
    magic: int | None = None,
    wait: float | None = None,
) -> Trade | None:
    """The position a hedge or re-add of unknown outcome (``entry``) opened, if it is open.

    By its comment (``DTMS_HEDGE_<ticket>``, ``DTMS_READD_<ticket>``) first. Brokers
    rewrite comments (docs/mt5.md), so failing that by what the order was, every test
    needed to tell it from a position that is not this order's:

    - the trade's symbol, and the side the action opens: opposite the trade for a hedge,
      the trade's own for a re-add;
    - exactly the lots asked (to the volume tolerance): an order of other lots is another
      order's (a part fill is left unclaimed: it is sent again, as before);
    - opened at or after the send (the entry's time, less :data:`OPEN_SLACK` for the
      clocks): a position older than that was open before the order was sent; and, with
      ``wait`` (``actions.unknown_wait_seconds``), no later than that after it (plus the
      slack): the trade server fills an order within the wait or not at all, so a later
      position is another order's (a record read again days later, after a restart or
      an upgrade, matched any later position of the same lots and side);
    - not a position DTMS already knows: the trade itself, its hedge, or any ticket in
      ``known`` (the executor's other trades and their hedges), which are another
      trade's, never this order's;
    - no comment of DTMS's for another trade: a comment only ever rules a position out,
      never in (the host's own rule, docs/mt5.md);
    - the trade's magic number (which the host gives its hedges and re-adds), or
      ``magic``, the configured one: a position of another program, or one opened by
      hand, is never claimed. A broker that carries no magic numbers gives every
      position 0, the trade's too, so the test holds there as well.

    The oldest such position answers (then the lowest ticket), as in the host's search:
    two orders of unknown outcome alike in all of this cannot be told apart, and a
    position no order answers for is one nobody defends."""
    opens_buy = (record.direction == "buy") is (entry.kind is ActionKind.RE_ADD)
    side = "buy" if opens_buy else "sell"
    comment = (HEDGE_COMMENT if entry.kind is ActionKind.HEDGE else READD_COMMENT).format(
        ticket=record.ticket
    )
    lots = float(entry.params["volume"])
    since = entry.at - OPEN_SLACK
    until = None if wait is None else entry.at + timedelta(seconds=wait) + OPEN_SLACK
    theirs = {record.ticket, record.hedge_ticket, *known}
    magics = {record.magic, record.magic if magic is None else magic}
    found: list[Trade] = []
    for pos in positions:
        if pos.comment == comment:
            return pos
        if (
            pos.symbol == record.symbol
            and pos.direction == side
            and abs(pos.volume - lots) <= _VOL_EPS
            and pos.opened_at >= since
            and (until is None or pos.opened_at <= until)
            and pos.ticket not in theirs
            and not pos.comment.startswith(_OUR_COMMENTS)
            and pos.magic in magics
        ):
            found.append(pos)
    return min(found, key=lambda pos: (pos.opened_at, pos.ticket)) if found else None


def outcome_from_broker(
    record: TradeRecord,
    entry: JournalEntry,
    position: Trade | None,
    positions: Iterable[Trade],
    *,
    known: Collection[int] = (),
    magic: int | None = None,
    wait: float | None = None,
) -> tuple[bool, int | None]:
    """Did the action of ``entry`` (pending or unknown) take effect? Judged from a fresh
    read: ``position`` is the trade now (``None`` if gone), ``positions`` all open ones
    (to find a hedge or re-add: :func:`find_opened`, with ``known``, ``magic`` and
    ``wait``).
    Returns ``(done, new_ticket)``."""
    p = entry.params
    kind = entry.kind
    if kind in (ActionKind.TIGHTEN_SL, ActionKind.MOVE_SL_BREAKEVEN):
        if position is None or position.stop_loss is None:
            return False, None
        return abs(position.stop_loss - float(p["stop_loss"])) < 1e-7 * max(
            1.0, abs(position.stop_loss)
        ), None
    if kind is ActionKind.PARTIAL_CLOSE:
        if position is None:
            return False, None
        return position.volume <= record.volume - float(p["volume"]) + _VOL_EPS, None
    if kind in (ActionKind.HEDGE, ActionKind.RE_ADD):
        opened = find_opened(record, entry, positions, known=known, magic=magic, wait=wait)
        return (opened is not None), (opened.ticket if opened else None)
    if kind is ActionKind.CLOSE_HEDGE:
        hedge_ticket = int(p["hedge_ticket"])
        return all(t.ticket != hedge_ticket for t in positions), None
    if kind is ActionKind.CLOSE:
        return position is None, None
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover


def unsettled(record: TradeRecord) -> tuple[JournalEntry, ...]:
    return tuple(
        e for e in record.journal if e.status in (JournalStatus.PENDING, JournalStatus.UNKNOWN)
    )


def settle(
    record: TradeRecord,
    entry: JournalEntry,
    done: bool,
    new_ticket: int | None,
    now: datetime,
    settings: DtmsSettings,
    *,
    hedge_closed: int | None = None,
) -> TradeRecord:
    """Close an unknown/pending entry as done or failed (then retried while allowed).
    ``hedge_closed``: a close of a hedged trade whose hedge is gone while the trade is
    not (its hedge is closed first, :func:`hookspecs.apply_action`): failed, in words
    that say so."""
    if done:
        result = ActionResult(True, ResultCode.OK, "settled from the broker", new_ticket)
    elif hedge_closed is not None:
        message = f"trade still open, its hedge {hedge_closed} gone (settled from broker)"
        result = ActionResult.failure(ResultCode.REJECTED, message)
    else:
        result = ActionResult.failure(ResultCode.REJECTED, "not applied (settled from broker)")
    action = Action(record.ticket, entry.kind, entry.params, "settle", entry.key, "dtms")
    return finish(record, action, result, now, settings)
