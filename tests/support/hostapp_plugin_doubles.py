"""Plugin doubles for the loader and PluginHost tests: one that records every hook call,
one that raises in every hook, and small single-purpose ones."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from hookspecs import Action, ActionResult, DefensiveState, OrderRequest, Trade, hookimpl

ALL_HOOKS = (
    "configure",
    "startup",
    "shutdown",
    "propose_orders",
    "allow_order",
    "on_trade_executed",
    "on_cycle",
    "is_defensive",
    "on_trade_closed",
    "on_state_change",
    "on_action",
)


class Recorder:
    """Implements every hook; records (hook, kwargs) and answers with ``answers[hook]``."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = answers

    def _note(self, hook: str, **kwargs: Any) -> Any:
        self.calls.append((hook, kwargs))
        return self.answers.get(hook)

    def hooks_called(self) -> list[str]:
        return [h for h, _ in self.calls]

    @hookimpl
    def configure(self, host: Any) -> None:
        self._note("configure", host=host)

    @hookimpl
    async def startup(self, host: Any) -> None:
        self._note("startup", host=host)

    @hookimpl
    async def shutdown(self, host: Any) -> None:
        self._note("shutdown", host=host)

    @hookimpl
    async def propose_orders(self, symbol: str, bars: Any, now: datetime) -> Any:
        return self._note("propose_orders", symbol=symbol, bars=bars, now=now)

    @hookimpl
    def allow_order(self, order: OrderRequest) -> Any:
        return self._note("allow_order", order=order)

    @hookimpl
    async def on_trade_executed(self, trade: Trade) -> None:
        self._note("on_trade_executed", trade=trade)

    @hookimpl
    async def on_cycle(self, now: datetime) -> None:
        self._note("on_cycle", now=now)

    @hookimpl
    def is_defensive(self, ticket: int) -> Any:
        return self._note("is_defensive", ticket=ticket)

    @hookimpl
    async def on_trade_closed(self, trade: Trade, reason: str) -> None:
        self._note("on_trade_closed", trade=trade, reason=reason)

    @hookimpl
    async def on_state_change(
        self, ticket: int, old: DefensiveState, new: DefensiveState, reason: str
    ) -> None:
        self._note("on_state_change", ticket=ticket, old=old, new=new, reason=reason)

    @hookimpl
    async def on_action(self, action: Action, result: ActionResult) -> None:
        self._note("on_action", action=action, result=result)

    @hookimpl
    def run_report(self) -> Any:
        return self._note("run_report")


class Boom(RuntimeError):
    pass


class Raiser:
    """Raises in every hook (except ``configure``, which would stop the host)."""

    def __init__(self) -> None:
        self.calls = 0

    def _boom(self) -> Any:
        self.calls += 1
        raise Boom("raiser always fails")

    @hookimpl
    def startup(self) -> None:
        self._boom()

    @hookimpl
    def shutdown(self) -> None:
        self._boom()

    @hookimpl
    def propose_orders(self) -> Any:
        return self._boom()

    @hookimpl
    def allow_order(self) -> Any:
        return self._boom()

    @hookimpl
    async def on_trade_executed(self) -> None:
        self._boom()

    @hookimpl
    def on_cycle(self) -> None:
        self._boom()

    @hookimpl
    def is_defensive(self) -> bool:
        return bool(self._boom())

    @hookimpl
    def run_report(self) -> Any:
        return self._boom()

    @hookimpl
    def on_trade_closed(self) -> None:
        self._boom()

    @hookimpl
    def on_state_change(self) -> None:
        self._boom()

    @hookimpl
    def on_action(self) -> None:
        self._boom()


class Sleeper:
    """An ``on_cycle`` that never finishes in time; ``cancelled`` tells the timeout hit it."""

    def __init__(self) -> None:
        self.cancelled = False

    @hookimpl
    async def on_cycle(self) -> None:
        try:
            await asyncio.Event().wait()  # forever
        except asyncio.CancelledError:
            self.cancelled = True
            raise


class Blocker:
    """An async ``on_cycle`` that holds the event loop (``time.sleep``) without awaiting."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @hookimpl
    async def on_cycle(self) -> None:
        time.sleep(self.seconds)


class Stubborn:
    """An async ``on_cycle`` that catches its cancellation and goes on a while."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished = 0

    @hookimpl
    async def on_cycle(self) -> None:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            await asyncio.sleep(self.seconds)  # cleaning up, it says
        self.finished += 1


class Defensive:
    """Says every trade is defensive."""

    @hookimpl
    def is_defensive(self, ticket: int) -> bool:
        return True


class Constructed:
    """A plugin class: the loader must instantiate it (``instances`` counts that)."""

    instances = 0

    def __init__(self) -> None:
        type(self).instances += 1

    @hookimpl
    def is_defensive(self) -> bool:
        return False


class BadDefault:
    @hookimpl
    def is_defensive(self, ticket: int = 0) -> bool:
        return False


class AsyncSyncOnly:
    @hookimpl
    async def is_defensive(self, ticket: int) -> bool:
        return False


class UnknownHook:
    @hookimpl
    def on_tick(self) -> None:
        pass


class UnknownArg:
    @hookimpl
    def on_cycle(self, moment: datetime) -> None:
        pass


class Wrapper:
    @hookimpl(wrapper=True)
    def on_cycle(self) -> Any:
        return (yield)
