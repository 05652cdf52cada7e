"""Sending one trade operation through ``order_send`` until it has a definite outcome.

Every operation (open, modify, close, hedge) goes through :meth:`OrderSender.run`, so the
retcode policy lives in one place: a fresh tick for every attempt, requotes retried with
backoff, 10030 answered by the next filling policy. A deal whose outcome is unknown (a
timeout, a lost connection, 10008 on a market order) is never sent again: it is looked for
in the server's deals, orders and positions until a deadline, and when it stays unknown it
is reported and flagged for attention (docs/mt5.md, "What happens when the terminal does
not answer"). A modify is idempotent, so it alone may be sent again once its levels are
seen not to be set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from hookspecs import ActionResult, ResultCode

from .mt5_awaiting import Awaiting, annotated
from .mt5_convert import as_dict, error_code, last_error
from .mt5_remainder import cancel_rest
from .mt5_resolve import WINDOW_SLACK, Fill, Footprint
from .mt5_retcodes import (
    AUTO_TRADING_DISABLED,
    CLIENT_DISABLES_AT,
    EXECUTION_EXCHANGE,
    EXECUTION_INSTANT,
    EXECUTION_MARKET,
    EXECUTION_REQUEST,
    NOT_SENT_ERRORS,
    RETCODE_WORDS,
    TRANSPORT_ERRORS,
    UNREACHED_ERRORS,
    UNREAD,
    Outcome,
    classify,
    failure_code,
    retcode_name,
)
from .mt5_rules import Constants, filling_order, slippage_points
from .mt5_settings import Mt5Settings

log = logging.getLogger(__name__)

Tick = Mapping[str, Any]
#: A request dict, or a refusal decided before sending (stops, freeze level…).
Prepared = dict[str, Any] | ActionResult
EXECUTION_NAMES = {
    EXECUTION_REQUEST: "Request",
    EXECUTION_INSTANT: "Instant",
    EXECUTION_MARKET: "Market",
    EXECUTION_EXCHANGE: "Exchange",
}


def _ignore_tick(symbol: str, tick: dict[str, Any]) -> None:
    return None


def _no_verdict() -> ActionResult | None:
    return None


def _no_words() -> str:
    return ""


def _nothing() -> None:
    return None


def _settled(fill: Fill, message: str) -> ActionResult:
    return ActionResult.success(message)


@dataclass(frozen=True)
class Operation:
    """One logical trade operation. ``prepare`` builds the request from a fresh tick and a
    filling policy. A deal carries its ``footprint`` (how to recognise it on the server)
    and ``settle``, which turns what was filled into the result. A modify carries
    ``verify`` instead: after an unknown outcome, did it happen (a result) or not
    (``None``: safe to send again). ``exemode`` and ``point`` let a fill's slippage be
    measured; ``guard_price`` (opens) refuses a re-send whose price has moved more than
    ``deviation`` points against the first attempt's. ``reticketed`` (a modify or close)
    says, when the server answers that the position the request named is gone (10036),
    whether the position is open under another ticket (the server re-opened it after the
    request was built): the request is then built again for it."""

    label: str
    symbol: str
    prepare: Callable[[Tick, int | None], Prepared]
    verify: Callable[[], ActionResult | None] = _no_verdict
    on_position_closed: Callable[[str], ActionResult] | None = None
    modify: bool = False  # 10025 NO_CHANGES is a success
    filling_mask: int | None = None  # None: the request carries no type_filling
    footprint: Footprint | None = None
    settle: Callable[[Fill, str], ActionResult] = _settled
    hedging: bool = True
    exemode: int = EXECUTION_MARKET
    point: float = 0.0
    guard_price: bool = False
    reticketed: Callable[[int], bool] | None = None


#: Times one operation is built again for a position the server re-opened meanwhile: a
#: re-open is once a day, so more than this is a server that keeps answering 10036.
MAX_RETICKETS = 3


class OrderSender(Awaiting):
    """Sends operations (:meth:`run`); an outcome it cannot tell is looked for on the
    server by its :class:`~.mt5_awaiting.Awaiting` half."""

    def __init__(
        self,
        api: Any,
        settings: Mt5Settings,
        constants: Constants,
        sleep: Callable[[float], None],
        server_now: Callable[[], int],
    ) -> None:
        self.api = api
        self.settings = settings
        self.c = constants
        self._sleep = sleep
        self._server_now = server_now
        #: The filling policy that last worked, per symbol.
        self.fillings: dict[str, int] = {}
        self.seen_deals = set()
        self.unclaimed = []
        self.pending = []
        self.unresolved = {}
        self.unresolved_by = {}
        #: Every tick read is shown to the server clock (see :mod:`.mt5_clock`).
        self.on_tick: Callable[[str, dict[str, Any]], None] = _ignore_tick
        #: The terminal refused an order because its Algo Trading is off (10027, -8),
        #: and an order went through: the Algo Trading watch hears both (:mod:`.mt5_link`).
        #: The first says what the result's message ends with (:mod:`.mt5_link`).
        self.on_autotrading_off: Callable[[], str] = _no_words
        self.on_went_through: Callable[[], None] = _nothing
        #: Why nothing is sent any more: the terminal went over to another account
        #: (:class:`hostapp.errors.AccountChanged`); "" while trading goes on. Asked
        #: again just before each send (``before_send``), since it can happen mid-cycle.
        self.refused_because = ""
        self.before_send: Callable[[], str] = _no_words

    def tick(self, symbol: str) -> dict[str, Any] | None:
        """A fresh tick with a price; ``None`` without one (:meth:`_read_tick`)."""
        tick = self._read_tick(symbol)
        return tick if tick is not None and _quoted(tick) else None

    def _read_tick(self, symbol: str) -> dict[str, Any] | None:
        """The tick, priced or not (``None``: the read failed); a symbol missing from
        Market Watch is selected and asked again."""
        raw = self.api.symbol_info_tick(symbol)
        if raw is None and self.api.symbol_select(symbol, True):
            raw = self.api.symbol_info_tick(symbol)
        if raw is None:
            return None
        tick = as_dict(raw)
        self.on_tick(symbol, tick)
        return tick

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.retry_delay_seconds * 2 ** (attempt - 1))

    def run(self, op: Operation) -> ActionResult:
        if self.refused_because:
            text = f"{op.label}: not sent: {self.refused_because}"
            return ActionResult.failure(ResultCode.TRADING_DISABLED, text)
        if op.filling_mask is None:
            fillings: list[int | None] = [None]
        else:
            cached = self.fillings.get(op.symbol)
            fillings = list(filling_order(op.filling_mask, op.exemode, self.c, cached))
        fill_index = 0
        attempt = 0
        retickets = 0
        first_price: float | None = None
        while True:
            attempt += 1
            tick = self._read_tick(op.symbol)
            if tick is None:
                return ActionResult.failure(
                    ResultCode.TRANSIENT,
                    f"{op.label}: no price for {op.symbol}; last_error={last_error(self.api)}",
                )
            if not _quoted(tick):  # the read worked: last_error would only say "Success"
                why = "bid/ask 0; a symbol just added to Market Watch gets one with its next price"
                text = f"{op.label}: the terminal has no quote for {op.symbol} yet ({why})"
                return ActionResult.failure(ResultCode.TRANSIENT, text)
            filling = fillings[fill_index]
            prepared = op.prepare(tick, filling)
            if isinstance(prepared, ActionResult):
                return prepared
            moved = self._moved(op, prepared, first_price)
            if moved is not None:
                return moved
            if first_price is None:
                first_price = float(prepared.get("price") or 0.0)
            not_here = self.before_send()
            if not_here:
                return ActionResult.failure(
                    ResultCode.TRADING_DISABLED, f"{op.label}: not sent: {not_here}"
                )
            sent_at = _sent_at(self._server_now(), tick)
            lost = ""  # the call raised: its answer was lost on the way back, or it was
            try:  # never sent; either way nothing says which, as a None with no error
                raw = self.api.order_send(prepared)
            except TRANSPORT_ERRORS as exc:
                raw, lost = None, f"order_send raised {type(exc).__name__}: {exc}"
            code = error_code(self.api) if raw is None and not lost else None
            if code in NOT_SENT_ERRORS:
                return self._not_sent(op.label, code)
            result = as_dict(raw) if raw is not None else {}
            retcode = int(result["retcode"]) if raw is not None else None
            outcome = classify(retcode)
            message = self._message(op.label, retcode, result)
            if lost:
                message = f"{op.label}: no answer: {lost}"
            if outcome in (Outcome.DONE, Outcome.PARTIAL, Outcome.NO_CHANGES):
                self.on_went_through()
            if retcode == CLIENT_DISABLES_AT:
                message += self.on_autotrading_off()  # the hint: logged once
            if outcome in (Outcome.DONE, Outcome.PARTIAL):
                message += self._slippage(op, prepared, result)
                if filling is not None:
                    self.fillings[op.symbol] = filling
                if op.footprint is None:
                    order = int(result.get("order") or 0)
                    return ActionResult.success(message, new_ticket=order or None)
                deal = int(result.get("deal") or 0)
                self.seen_deals.add(deal)
                filled = float(result.get("volume") or 0.0)
                if outcome is Outcome.DONE and filled <= 0:  # 10009: all of it executed
                    filled = float(prepared["volume"])
                fill = Fill(filled, None, (deal,) if deal else (), int(result.get("order") or 0))
                if outcome is Outcome.PARTIAL and filling == self.c.ret and fill.order:
                    asked = float(prepared["volume"])
                    fill, words = self._cancel_rest(op.label, op.symbol, fill, asked)
                    message += words
                return op.settle(fill, message)
            if outcome is Outcome.NO_CHANGES and op.modify:
                return ActionResult(True, ResultCode.NO_CHANGES, message)
            if outcome is Outcome.INVALID_FILL and fill_index + 1 < len(fillings):
                self.fillings.pop(op.symbol, None)
                fill_index += 1
                attempt -= 1  # a filling fallback is not a price retry
                continue
            if (
                outcome is Outcome.POSITION_CLOSED
                and op.reticketed is not None
                and retickets < MAX_RETICKETS
                and op.reticketed(int(prepared.get("position") or 0))
            ):
                retickets += 1  # the position lives on under a new ticket: to that one
                attempt -= 1  # no price retry either
                continue
            if outcome is Outcome.POSITION_CLOSED and op.on_position_closed is not None:
                return op.on_position_closed(message)
            if outcome is Outcome.RETRY_PRICE and attempt < self.settings.max_attempts:
                self._backoff(attempt)
                continue
            if outcome in (Outcome.UNKNOWN, Outcome.PLACED) and op.footprint is not None:
                # 10008 on a market deal names the order: only its own deals answer for it
                placed = int(result.get("order") or 0) or None
                footprint = replace(op.footprint, since=sent_at - WINDOW_SLACK)
                return self._await(op.label, op.settle, op.hedging, footprint, placed, message)
            if outcome in (Outcome.UNKNOWN, Outcome.PLACED):
                self._backoff(attempt)
                try:
                    verdict = op.verify()
                except UNREAD as exc:
                    return ActionResult.failure(
                        ResultCode.UNKNOWN_OUTCOME,
                        f"{message}; and positions could not be re-read ({exc}): "
                        "check the terminal before retrying",
                    )
                if verdict is not None:
                    return annotated(verdict, f" (after {lost or retcode_name(retcode)})")
                if attempt < self.settings.max_attempts:
                    continue
                return ActionResult.failure(
                    ResultCode.UNKNOWN_OUTCOME,
                    f"{message}; not visible in positions after {attempt} attempts",
                )
            return ActionResult.failure(failure_code(retcode), message)

    def _cancel_rest(self, label: str, symbol: str, fill: Fill, asked: float) -> tuple[Fill, str]:
        """ORDER_FILLING_RETURN filled part: the rest would work on, so it is cancelled
        before what filled is reported (:mod:`.mt5_remainder`); a rest that may still
        work is flagged for attention."""
        rest = cancel_rest(self.api, self.c.remove, symbol, int(fill.order or 0), fill, asked)
        self.seen_deals.update(rest.fill.deals)
        if rest.working:
            self.unresolved[label] = self.unresolved.get(label, 0) + 1
            log.error("%s%s", label, rest.words)
        return rest.fill, rest.words

    def _not_sent(self, label: str, code: int | None) -> ActionResult:
        """``order_send`` returned ``None`` before the request left (see
        :data:`~.mt5_retcodes.NOT_SENT_ERRORS`): a plain refusal, nothing to look for on
        the server; an IPC link that failed may be back by the next try."""
        error = f"last_error={last_error(self.api)}"
        if code in UNREACHED_ERRORS:
            return ActionResult.failure(
                ResultCode.TRANSIENT,
                f"{label}: not sent: the request never reached the terminal (its IPC link "
                f"failed); {error}",
            )
        why = "as malformed" if code == -2 else "(algorithmic trading is disabled)"
        refused, more = ResultCode.REJECTED, ""
        if code == AUTO_TRADING_DISABLED:  # the package's word for 10027: the same wait
            more = self.on_autotrading_off()
            refused = ResultCode.TRADING_DISABLED
        return ActionResult.failure(
            refused,
            f"{label}: the terminal refused the request {why} and sent nothing; {error}{more}",
        )

    def _moved(
        self, op: Operation, prepared: dict[str, Any], first: float | None
    ) -> ActionResult | None:
        """An open re-sent after a requote or a filling fallback goes at a fresh price; one
        more than ``deviation`` points worse than the first attempt's is not sent."""
        if not op.guard_price or first is None:
            return None
        buying = int(prepared["type"]) == self.c.buy
        moved = slippage_points(buying, first, float(prepared["price"]), op.point)
        if moved <= self.settings.deviation:
            return None
        return ActionResult.failure(
            ResultCode.TRANSIENT,
            f"{op.label}: not sent again: the price moved {moved} points against the first "
            f"attempt's {first}, beyond deviation {self.settings.deviation}",
        )

    def _slippage(self, op: Operation, prepared: dict[str, Any], result: Mapping[str, Any]) -> str:
        """The fill price against the price asked. Market and Exchange execution fill at
        any price (``deviation`` is not applied), so slippage beyond it is logged and said
        in the result; the deal itself stands."""
        if "price" not in prepared:
            return ""
        buying = int(prepared["type"]) == self.c.buy
        asked, filled = float(prepared["price"]), float(result.get("price") or 0.0)
        slip = slippage_points(buying, asked, filled, op.point)
        if slip == 0:
            return ""
        text = f"; filled {abs(slip)} points {'worse' if slip > 0 else 'better'} than {asked}"
        if slip > self.settings.deviation:
            mode = EXECUTION_NAMES.get(op.exemode, str(op.exemode))
            text += (
                f", beyond deviation {self.settings.deviation} ({mode} execution does not "
                "bound slippage)"
            )
            log.warning("%s%s", op.label, text)
        return text

    def _message(self, label: str, retcode: int | None, result: Mapping[str, Any]) -> str:
        text = f"{label}: {retcode_name(retcode)}"
        comment = result.get("comment")
        if comment:
            text += f" ({comment})"
        if classify(retcode) not in (Outcome.DONE, Outcome.PARTIAL, Outcome.NO_CHANGES):
            if retcode in RETCODE_WORDS:
                text += f"; {RETCODE_WORDS[retcode]}"
            text += f"; last_error={last_error(self.api)}"
        else:
            text += f"; order={result.get('order')} deal={result.get('deal')}"
            text += f" price={result.get('price')}"
        return text


def _quoted(tick: Tick) -> bool:  # a symbol with no quote yet reads bid and ask 0
    return float(tick["bid"]) > 0 and float(tick["ask"]) > 0


#: How far before the local clock's reading of the send the tick's server time may take
#: the window (:func:`_sent_at`): a tick older than this (a quiet symbol) dates nothing.
TICK_ANCHOR_SECONDS = 300


def _sent_at(server_now: int, tick: Mapping[str, Any]) -> int:
    """The server time a request was sent at, for finding its deals: the local clock moved
    to the server's (``server_now``), but never after the time of the tick read just
    before the send, which is on the server's own clock. The offset is rounded to 30
    minutes, so a PC clock 45 s fast put the send 45 s late, after the deals of an order
    that timed out yet executed (``WINDOW_SLACK`` absorbs 30 s): they went unfound and
    the fill was reported of unknown outcome (docs/mt5.md, "Times are UTC")."""
    try:
        ticked = int(tick.get("time") or 0)
    except (TypeError, ValueError):
        return server_now
    if ticked <= 0 or ticked >= server_now:
        return server_now
    return max(ticked, server_now - TICK_ANCHOR_SECONDS)
