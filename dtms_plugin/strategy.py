"""The face both DTMS strategies show to the plugin: the local engine in-process, or the
remote DTMS API server. ``dtms_plugin.plugin`` picks one and forwards the hooks to it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hookspecs import HostView, OrderRequest, Trade, Veto


class Strategy(Protocol):
    name: str  # "local" or "remote"

    async def startup(self, host: HostView) -> None: ...

    async def shutdown(self, host: HostView) -> None: ...

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None: ...

    def quiet_cycle(self, now: datetime) -> bool:
        """Sync: ``True`` when this cycle had nothing to watch and is already done (its
        bookkeeping included), so no coroutine is made for it: most bars of a replay."""
        ...

    async def on_cycle(self, host: HostView, now: datetime) -> None: ...

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None: ...

    def settle_rails(self, host: HostView) -> None:
        """Sync: judge the account rails now if a result was realised since they last
        were (docs/dtms.md §7), instead of at the next cycle: a client's close to ``dtms
        serve`` gets its judgement before the answer. A strategy whose rails are judged
        elsewhere (the remote one: the server's) does nothing."""
        ...

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        """Sync, no network: answer from the store's state cache (docs/dtms.md §9)."""
        ...

    def allow_order(self, host: HostView, order: OrderRequest) -> Veto | None: ...
