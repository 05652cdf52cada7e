"""What the book holds, and the order a partial fill leaves working.

MQL5 reference, ORDER_FILLING_RETURN: "In case of partial filling, a market or limit
order with the remaining volume is not canceled but processed further." IOC cancels the
rest, FOK fills all or nothing. Here the rest waits as an active order (``orders_get``
shows it) and is carried out :data:`REST_WORKS_SECONDS` later, filling what the book
holds then; ``TRADE_ACTION_REMOVE`` with its ticket cancels it meanwhile. On a netting
account the rest of a close is a plain order of its side, no longer tied to the position
(a sell fills as a sell once the position is flat); on a hedging one it keeps the position.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .model import FakeSymbol, InFlight
from .shapes import CONSTANTS

#: Seconds after a RETURN partial fill at which its remaining order is carried out.
REST_WORKS_SECONDS = 5.0
RETURN = CONSTANTS["ORDER_FILLING_RETURN"]


class WorkingOrders:
    """The filling policies' effect on :class:`~.terminal.FakeMT5`'s deals and orders."""

    if TYPE_CHECKING:  # kept by the terminal and the trade server
        margin_mode: int
        now: datetime
        in_flight: list[InFlight]

        def server_time(self, age: float = 0) -> int: ...

        def _result(
            self, retcode: int, r: dict[str, Any], comment: str = "", **done: Any
        ) -> Any: ...

        def _fields_problem(
            self, r: dict[str, Any], required: set[str], optional: set[str]
        ) -> str: ...

    def _fillable(self, s: FakeSymbol, r: dict[str, Any], fill: float | None) -> float:
        """The lots this deal fills: all of them, or what the book holds (IOC and RETURN
        fill part, FOK fills all or nothing)."""
        v = r["volume"] if fill is None else fill
        if s.liquidity is not None and v > s.liquidity + 1e-9:
            part = r["type_filling"] in (CONSTANTS["ORDER_FILLING_IOC"], RETURN)
            return s.liquidity if part else 0.0
        return v

    def _keep_working(self, r: dict[str, Any], filled: float, order: int) -> None:
        """A RETURN order ``order`` filled ``filled`` of its lots: the rest works on."""
        if r["type_filling"] != RETURN:
            return
        rest = dict(r, volume=round(r["volume"] - filled, 8))
        if self.margin_mode != CONSTANTS["ACCOUNT_MARGIN_MODE_RETAIL_HEDGING"]:
            rest.pop("position", None)
        land = self.now + timedelta(seconds=REST_WORKS_SECONDS)
        self.in_flight.append(InFlight(order, rest, land, self.server_time(), None))

    def _remove(self, r: dict[str, Any]) -> Any:
        """``TRADE_ACTION_REMOVE``: cancel an active order by its ticket."""
        problem = self._fields_problem(r, {"action", "order"}, {"magic", "comment"})
        if problem:
            return self._result(10013, r, f"Invalid request: {problem}")
        for o in self.in_flight:
            if o.ticket == r["order"] and o.request.get("action") == CONSTANTS["TRADE_ACTION_DEAL"]:
                self.in_flight.remove(o)
                return self._result(10009, r, "Request executed", order=o.ticket)
        # no such order (filled, cancelled or never there): the adapter under test must
        # not depend on which refusal this is
        return self._result(10013, r, "Invalid request: no such order")
