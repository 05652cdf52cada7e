"""The rest of an ORDER_FILLING_RETURN order that filled only part, cancelled.

MQL5 reference, ORDER_FILLING_RETURN: "In case of partial filling, a market or limit
order with the remaining volume is not canceled but processed further." An open of 100
lots that filled 40, or a close of 100 that closed 40, would leave an order for 60 lots
working, to fill at any later time unseen by the plugins: a close asked again for the 60
still open could then leave the account 60 lots the other way. So once RETURN filled
part, the rest is cancelled (``TRADE_ACTION_REMOVE`` on the order's ticket) before what
filled is reported, and what filled is read from the order's deals, since the rest may
have filled, in part or whole, before it was cancelled (docs/mt5.md, "Filling mode").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookspecs import BrokerError

from .mt5_convert import as_dict, last_error
from .mt5_resolve import LOTS_EPS, Fill
from .mt5_retcodes import TRANSPORT_ERRORS, UNREAD, retcode_name

#: ``TRADE_RETCODE_DONE``: the cancel went through
DONE = 10009


@dataclass(frozen=True, slots=True)
class Rest:
    """What became of a RETURN order's rest: the order's ``fill`` as best known, the
    words for the result, and whether the rest may still be working (``working``)."""

    fill: Fill
    words: str
    working: bool


def cancel_rest(api: Any, remove: int, symbol: str, order: int, fill: Fill, asked: float) -> Rest:
    """Cancel the rest of RETURN order ``order`` (of ``symbol``, for ``asked`` lots),
    which filled ``fill`` as its answer said; ``remove`` is ``TRADE_ACTION_REMOVE``."""
    removed = False  # the server answered the cancel DONE
    try:
        raw = api.order_send({"action": remove, "order": order})
        code = int(as_dict(raw)["retcode"]) if raw is not None else None
        removed = code == DONE
        answer = retcode_name(code) if code is not None else None
    except TRANSPORT_ERRORS as exc:
        answer = f"order_send raised {type(exc).__name__}: {exc}"
    if answer is None:
        answer = f"no result; last_error={last_error(api)}"
    try:  # whatever it answered: is the order still there, and what did it fill?
        active = api.orders_get(symbol=symbol)
        if active is None:
            raise BrokerError(f"orders_get failed: last_error={last_error(api)}")
        working = any(int(as_dict(o)["ticket"]) == order for o in active)
        deals = [as_dict(d) for d in api.history_deals_get(ticket=order) or ()]
    except UNREAD as exc:
        words = (
            f"; the rest of order {order} (ORDER_FILLING_RETURN keeps it working) was to "
            f"be cancelled ({answer}), but the orders could not be read ({exc}): it may "
            "still fill; check the terminal (flagged for attention)"
        )
        return Rest(fill, words, True)
    # the history may lag behind the answer: it never shows less than the answer said
    volume = max(fill.volume, round(sum(float(d["volume"]) for d in deals), 8))
    tickets = tuple(dict.fromkeys((*fill.deals, *(int(d["ticket"]) for d in deals))))
    done = Fill(volume, fill.position, tickets, fill.order)
    if working:
        words = (
            f"; the rest of order {order} is still working (ORDER_FILLING_RETURN) and "
            f"could not be cancelled ({answer}): it may still fill; check the terminal "
            "(flagged for attention)"
        )
        return Rest(done, words, True)
    if not removed and volume < asked - LOTS_EPS:
        # not cancelled, not listed, and its deals short of what was asked: the rest may
        # have filled with the history behind the answer (it lags), or been cancelled
        words = (
            f"; the rest of order {order} is no longer listed but was not cancelled by us "
            f"({answer}), and its deals show {volume:g} of {asked:g} lots: it may have "
            "filled with the history behind; check the terminal (flagged for attention)"
        )
        return Rest(done, words, True)
    more = f", {volume:g} lots filled in all" if volume > fill.volume else ""
    words = f"; the rest of order {order} was cancelled ({answer}){more}"
    return Rest(done, words, False)
