"""What the trading loop (:mod:`hostapp.loop`) needs of the parts it drives: the plugins'
hooks, a host that tells it of each action it carries out, and a clock it can set.

Protocols, not the classes themselves (:class:`hostapp.pluginhost.PluginHost`,
:class:`hostapp.host.Host`, :class:`hostapp.clock.SimClock`): the loop depends only on
the little it calls of each, and these say what that is, apart from the loop's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from hookspecs import (
    Action,
    ActionResult,
    Bar,
    CloseReason,
    HostView,
    OrderRequest,
    Trade,
    Veto,
)


class LoopPlugins(Protocol):
    """The part of :class:`hostapp.pluginhost.PluginHost` the loop drives."""

    async def propose_orders(
        self, host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
    ) -> list[tuple[str, OrderRequest]]: ...

    def veto(self, host: HostView, order: OrderRequest) -> Veto | None: ...

    def failing(self, plugin: str, hook: str) -> bool: ...

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None: ...

    async def on_cycle(self, host: HostView, now: datetime) -> None: ...

    def is_defensive(self, host: HostView, ticket: int) -> bool: ...

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: CloseReason) -> None: ...

    async def manage_positions(self, host: HostView, now: datetime) -> None: ...

    def has_impls(self, hook: str) -> bool: ...

    def new_cycle(self) -> None: ...


class LoopHost(HostView, Protocol):
    """The host the loop drives: a :class:`~hookspecs.HostView` that tells the loop of each
    action it carries out (:meth:`hostapp.host.Host.add_listener`)."""

    def add_listener(self, listener: Callable[[Action, ActionResult], None]) -> None: ...


@runtime_checkable
class SettableClock(Protocol):
    """A clock the loop moves itself, bar by bar (a replay's :class:`~hostapp.clock.SimClock`)."""

    def set(self, t: datetime) -> None: ...


@runtime_checkable
class StepFed(Protocol):
    """A broker that takes the bars of one step together (:meth:`step`): the paper
    broker writes them in one transaction of its account file, so another process on
    the file (``dtms serve``) never finds one symbol priced at the step and the next one
    not yet, which read as that symbol's market closed."""

    def step(self) -> AbstractContextManager[None]: ...
