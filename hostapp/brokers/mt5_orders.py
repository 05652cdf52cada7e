"""Sending one trade operation through ``order_send`` until it has a definite outcome.

Every operation (open, modify, close, hedge) goes through :meth:`OrderSender.run`, so the
retcode policy lives in one place: a fresh tick for every attempt, requotes retried with
backoff, 10030 answered by the next filling policy, and a timeout never blindly re-sent:
positions are re-read first, because a timed-out order has often executed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookspecs import ActionResult, BrokerError, ResultCode

from .mt5_convert import as_dict, last_error
from .mt5_retcodes import Outcome, classify, failure_code, retcode_name
from .mt5_rules import Constants, filling_order
from .mt5_settings import Mt5Settings

Tick = Mapping[str, Any]
#: A request dict, or a refusal decided before sending (stops, freeze level…).
Prepared = dict[str, Any] | ActionResult


def _no_verdict() -> ActionResult | None:
    return None


@dataclass(frozen=True)
class Operation:
    """One logical trade operation. ``prepare`` builds the request from a fresh tick and a
    filling policy; ``verify`` answers, after an unknown outcome, whether it happened
    (a result) or not (``None``: safe to send again)."""

    label: str
    symbol: str
    prepare: Callable[[Tick, int | None], Prepared]
    verify: Callable[[], ActionResult | None] = _no_verdict
    on_position_closed: Callable[[str], ActionResult] | None = None
    modify: bool = False  # 10025 NO_CHANGES is a success
    filling_mask: int | None = None  # None: the request carries no type_filling


class OrderSender:
    def __init__(
        self,
        api: Any,
        settings: Mt5Settings,
        constants: Constants,
        sleep: Callable[[float], None],
    ) -> None:
        self.api = api
        self.settings = settings
        self.c = constants
        self._sleep = sleep
        #: The filling policy that last worked, per symbol.
        self.fillings: dict[str, int] = {}

    def tick(self, symbol: str) -> dict[str, Any] | None:
        """A fresh tick; a symbol missing from Market Watch is selected and asked again."""
        raw = self.api.symbol_info_tick(symbol)
        if raw is None and self.api.symbol_select(symbol, True):
            raw = self.api.symbol_info_tick(symbol)
        if raw is None:
            return None
        tick = as_dict(raw)
        return tick if float(tick["bid"]) > 0 and float(tick["ask"]) > 0 else None

    def _backoff(self, attempt: int) -> None:
        self._sleep(self.settings.retry_delay_seconds * 2 ** (attempt - 1))

    def run(self, op: Operation) -> ActionResult:
        if op.filling_mask is None:
            fillings: list[int | None] = [None]
        else:
            cached = self.fillings.get(op.symbol)
            fillings = list(filling_order(op.filling_mask, self.c, cached))
        fill_index = 0
        attempt = 0
        last_message = ""
        while True:
            attempt += 1
            tick = self.tick(op.symbol)
            if tick is None:
                return ActionResult.failure(
                    ResultCode.TRANSIENT,
                    f"{op.label}: no price for {op.symbol}; last_error={last_error(self.api)}",
                )
            filling = fillings[fill_index]
            prepared = op.prepare(tick, filling)
            if isinstance(prepared, ActionResult):
                return prepared
            raw = self.api.order_send(prepared)
            result = as_dict(raw) if raw is not None else {}
            retcode = int(result["retcode"]) if raw is not None else None
            outcome = classify(retcode)
            message = self._message(op.label, retcode, result)
            if outcome in (Outcome.DONE, Outcome.PARTIAL):
                if filling is not None:
                    self.fillings[op.symbol] = filling
                if outcome is Outcome.PARTIAL:
                    message += f"; only {result.get('volume')} lots filled"
                order = int(result.get("order") or 0)
                return ActionResult.success(message, new_ticket=order or None)
            if outcome is Outcome.NO_CHANGES and op.modify:
                return ActionResult(True, ResultCode.NO_CHANGES, message)
            if outcome is Outcome.INVALID_FILL and fill_index + 1 < len(fillings):
                self.fillings.pop(op.symbol, None)
                fill_index += 1
                attempt -= 1  # a filling fallback is not a price retry
                continue
            if outcome is Outcome.POSITION_CLOSED and op.on_position_closed is not None:
                return op.on_position_closed(message)
            if outcome is Outcome.RETRY_PRICE and attempt < self.settings.max_attempts:
                self._backoff(attempt)
                continue
            if outcome is Outcome.UNKNOWN:
                self._backoff(attempt)
                try:
                    verdict = op.verify()
                except BrokerError as exc:
                    return ActionResult.failure(
                        ResultCode.UNKNOWN_OUTCOME,
                        f"{message}; and positions could not be re-read ({exc}): "
                        "check the terminal before retrying",
                    )
                if verdict is not None:
                    return _annotated(verdict, f" (after {retcode_name(retcode)})")
                last_message = message
                if attempt < self.settings.max_attempts:
                    continue
                return ActionResult.failure(
                    ResultCode.UNKNOWN_OUTCOME,
                    f"{last_message}; not visible in positions after {attempt} attempts",
                )
            return ActionResult.failure(failure_code(retcode), message)

    def _message(self, label: str, retcode: int | None, result: Mapping[str, Any]) -> str:
        text = f"{label}: {retcode_name(retcode)}"
        comment = result.get("comment")
        if comment:
            text += f" ({comment})"
        if classify(retcode) not in (Outcome.DONE, Outcome.PARTIAL, Outcome.NO_CHANGES):
            text += f"; last_error={last_error(self.api)}"
        else:
            text += f"; order={result.get('order')} deal={result.get('deal')}"
            text += f" price={result.get('price')}"
        return text


def _annotated(result: ActionResult, suffix: str) -> ActionResult:
    return ActionResult(result.ok, result.code, result.message + suffix, result.new_ticket)


def _signed(p: Mapping[str, Any]) -> float:
    """Position volume with the sign of its side (POSITION_TYPE_BUY is 0)."""
    return float(p["volume"]) * (1 if int(p["type"]) == 0 else -1)


def find_opened(
    before: Mapping[int, Mapping[str, Any]],
    now: list[dict[str, Any]],
    hedging: bool,
    order_type: int,
    signed_lots: float,
    magic: int,
    comment: str,
) -> ActionResult | None:
    """After an unknown outcome: did an open execute? Hedging: a position of ours that was
    not there before; netting: the symbol's net volume moved by the order's signed volume.
    ``None`` means no trace, so sending again cannot double the position."""
    if hedging:
        for p in now:
            if (
                int(p["ticket"]) not in before
                and int(p["type"]) == order_type
                and int(p["magic"]) == magic
                and str(p["comment"]).startswith(comment)
                and abs(float(p["volume"]) - abs(signed_lots)) < 1e-9
            ):
                return ActionResult.success("executed: position found", int(p["ticket"]))
        return None
    net_before = sum(_signed(p) for p in before.values())
    net_after = sum(_signed(p) for p in now)
    if abs(net_after - net_before - signed_lots) < 1e-9:
        ticket = int(now[0]["ticket"]) if now else None
        return ActionResult.success("executed: net position changed", ticket)
    return None
