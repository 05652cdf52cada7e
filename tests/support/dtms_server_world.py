"""Test doubles for the DTMS server: a scripted market that is also the clock, the
memory broker of ``hostapp.testing`` kept at the market's price, and a small scripted
strategy for testing the server's plumbing apart from the real engine.

The market holds a fixed M5 close path per symbol and shows its first ``visible`` bars;
``step()`` reveals more, moves the broker's price and the clock. Higher timeframes are
aggregated from the visible M5 bars (complete buckets only), as a real feed would.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dtms_plugin.store import Store
from hookspecs import Action, ActionKind, Bar, DefensiveState, HostView, OrderRequest, Trade, Veto
from hostapp.testing import MemoryBroker, bars_from_closes

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
_TF = {"M5": 300, "M15": 900, "M30": 1800, "H1": 3600}


def wavy_path(start: float, count: int, *, amplitude: float = 0.004, seed: int = 0) -> list[float]:
    """A deterministic path that wanders (several sine periods), for indicator warm-up."""
    return [
        round(start * (1 + amplitude * math.sin(i / 7 + seed) + amplitude * math.sin(i / 31)), 2)
        for i in range(count)
    ]


def falling_path(start: float, count: int, *, step: float) -> list[float]:
    return [round(start - step * (i + 1), 2) for i in range(count)]


class World:
    """MarketView and Clock in one; owns a MemoryBroker that fills at the last close."""

    def __init__(self, closes: dict[str, Sequence[float]], *, visible: int) -> None:
        self._bars = {s: bars_from_closes(list(c), start=T0) for s, c in closes.items()}
        self.visible = visible
        prices = {s: c[visible - 1] for s, c in closes.items()}
        # MemoryBroker only calls clock.now(): the world's time stamps its fills.
        self.broker = MemoryBroker(prices, clock=self)  # type: ignore[arg-type]

    def now(self) -> datetime:
        """The close time of the newest visible M5 bar."""
        return T0 + timedelta(seconds=300 * self.visible)

    def price(self, symbol: str) -> float:
        return self._bars[symbol][self.visible - 1].close

    def step(self, n: int = 1) -> None:
        self.visible = min(self.visible + n, min(len(b) for b in self._bars.values()))
        for symbol in self._bars:
            self.broker.set_price(symbol, self.price(symbol))

    base_timeframe = "M5"

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        m5 = self._bars.get(symbol, [])[: self.visible]
        period = _TF[timeframe]
        if period == 300:
            return m5[-count:] if count > 0 else []
        per = period // 300
        out: list[Bar] = []
        for first in range(0, len(m5) - per + 1, per):
            chunk = m5[first : first + per]
            out.append(
                Bar(
                    chunk[0].time,
                    chunk[0].open,
                    max(b.high for b in chunk),
                    min(b.low for b in chunk),
                    chunk[-1].close,
                    sum(b.volume for b in chunk),
                    chunk[-1].spread,
                )
            )
        return out[-count:] if count > 0 else []


class ScriptedDeath(BaseException):
    """Not an Exception: what a monitoring loop cannot catch and carry on from."""


class ScriptedStrategy:
    """Registers trades as HEALTHY records; each cycle, a trade whose price is more than
    ``warn_distance`` against its entry goes to WARNING_L2 and gets one tighten_sl action.

    ``fail_cycles`` makes that many cycles raise; ``die`` makes the next cycle raise a
    BaseException (which a monitoring loop cannot survive).
    """

    name = "scripted"

    def __init__(self, store: Store, *, warn_distance: float = 5.0) -> None:
        self.store = store
        self.warn_distance = warn_distance
        self.fail_cycles = 0
        self.die = False
        self.block: threading.Event | None = None  # set: on_cycle waits for it (blocking)
        self.blocked = threading.Event()
        self.cycles: list[datetime] = []
        self.executed: list[Trade] = []
        self.unregistered: list[int] = []
        self.started = False
        self.stopped = False

    async def startup(self, host: HostView) -> None:
        self.started = True

    async def shutdown(self, host: HostView) -> None:
        self.stopped = True

    def settle_rails(self, host: HostView) -> None:
        """No rails in this world: a close is settled by its record alone."""

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        self.executed.append(trade)
        if self.store.get_record(trade.ticket) is not None:
            return
        self.store.put_record(
            trade.ticket,
            {
                "ticket": trade.ticket,
                "symbol": trade.symbol,
                "direction": trade.direction,
                "entry_price": trade.entry_price,
                "volume": trade.volume,
                "stop_loss": trade.stop_loss,
                "take_profit": trade.take_profit,
                "opened_at": trade.opened_at.isoformat(),
                "state": "HEALTHY",
                "seq": 0,
                "state_entered_at": host.clock.now().isoformat(),
                "last_score": None,
                "last_eval_at": None,
                "warnings": [],
                "flat_deadline": None,
                "recovery_deadline": None,
                "hedge_ticket": None,
                "journal": [],
            },
        )

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        self.cycles.append(now)
        if self.block is not None:
            self.blocked.set()
            self.block.wait(timeout=30)  # blocks its thread, like a slow broker call
        if self.die:
            raise ScriptedDeath("scripted death")
        if self.fail_cycles > 0:
            self.fail_cycles -= 1
            raise RuntimeError("scripted failure")
        for ticket, record in self.store.records().items():
            if record["state"] != "HEALTHY":
                continue
            quote = host.broker.quote(record["symbol"])
            if quote is None:
                continue
            against = (record["entry_price"] - quote.bid) * (
                1 if record["direction"] == "buy" else -1
            )
            if against < self.warn_distance:
                continue
            action = Action(
                ticket,
                ActionKind.TIGHTEN_SL,
                {"stop_loss": quote.bid - 1.0},
                reason="scripted",
                key=f"{ticket}:1:tighten_sl",
            )
            result = await host.execute(action)
            record.update(
                state="WARNING_L2",
                seq=1,
                state_entered_at=now.isoformat(),
                last_score=-5.0,
                last_eval_at=now.isoformat(),
                warnings=["price against the trade"],
            )
            record["journal"].append(
                {
                    "key": action.key,
                    "kind": action.kind.value,
                    "params": dict(action.params),
                    "status": "done" if result.ok else "failed",
                    "attempts": 1,
                    "code": result.code.value,
                    "message": result.message,
                    "at": now.isoformat(),
                    "new_ticket": result.new_ticket,
                }
            )
            self.store.put_record(ticket, record)
            self.store.append_action(  # as the local strategy does: the action history
                {
                    "type": "action",
                    "ticket": ticket,
                    "key": action.key,
                    "kind": action.kind.value,
                    "ok": result.ok,
                    "code": result.code.value,
                    "at": now.isoformat(),
                }
            )
            await host.report_state_change(
                ticket, DefensiveState.HEALTHY, DefensiveState.WARNING_L2, "scripted"
            )

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        return None

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        record = self.store.get_record(ticket)
        return record is not None and record["state"] in ("WARNING_L2", "HEDGED")

    def allow_order(self, host: HostView, order: OrderRequest) -> Veto | None:
        return None

    def unregister(self, host: HostView, ticket: int) -> None:
        self.unregistered.append(ticket)


def open_position(world: World, symbol: str = "XAUUSD", direction: str = "buy") -> int:
    """Open a position at the world's price and return its ticket."""
    result = world.broker.open(OrderRequest(symbol, direction, 1.0))  # type: ignore[arg-type]
    assert result.ok and result.new_ticket is not None
    return result.new_ticket


def registration(ticket: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket": ticket,
        "symbol": "XAUUSD",
        "direction": "buy",
        "entry": 2000.0,
        "volume": 1.0,
        "stop_loss": 1990.0,
        "take_profit": 2020.0,
    }
    body.update(overrides)
    return body


def service_of(client: Any) -> Any:
    """The DtmsService behind a pytest-aiohttp client."""
    from dtms_plugin.server import SERVICE_KEY

    return client.app[SERVICE_KEY]


@asynccontextmanager
async def hosts_routes(
    aiohttp_client: Callable[..., Awaitable[Any]], tmp_path: Path
) -> AsyncIterator[tuple[Any, Store]]:
    """A client of DTMS's routes as a trading host serves them (the local strategy on a
    store holding one HEALTHY XAUUSD trade, ticket 1), and that store."""
    from aiohttp import web

    from dtms_plugin.local import LocalStrategy
    from dtms_plugin.settings import DtmsSettings
    from dtms_plugin.web import routes

    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        store.put_record(1, {"ticket": 1, "state": "HEALTHY", "symbol": "XAUUSD"})
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        yield await aiohttp_client(app), store


async def dead_engine_client(make_client: Callable[..., Awaitable[Any]]) -> Any:
    """A client of a server whose monitoring loop died at its first cycle (at start),
    returned once the loop's task is done: the engine is not running."""

    def dying(dtms: Any, store: Any) -> ScriptedStrategy:
        strategy = ScriptedStrategy(store)
        strategy.die = True  # the first cycle, at start, kills the loop
        return strategy

    client = await make_client(strategy_factory=dying)
    task = service_of(client)._monitor_task
    assert task is not None
    for _ in range(2000):
        if task.done():
            break
        await asyncio.sleep(0.005)
    return client


async def engine_server(
    aiohttp_client: Callable[..., Awaitable[Any]],
    tmp_path: Path,
    world: Any,
    broker: Any,
    *,
    cycled: bool = False,
    store: str = "",
) -> Any:
    """A real ``dtms serve`` app over ``broker`` and ``world``: its engine, its store in
    ``tmp_path / "state"`` (or at ``store``: a Redis URL), no token, its monitor left to
    the test (``service_of(client).run_cycle()``); the aiohttp test client of it.
    ``cycled``: its first cycle run, so the engine has read the account (hedging or
    netting) as a running server has before its first registration."""
    from dtms_plugin.server import ServerSettings, create_app
    from dtms_plugin.server.service import default_strategy_factory
    from dtms_plugin.settings import DtmsSettings
    from hostapp.testing import make_host

    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "state"), store=store),
        token="",
        monitor_seconds=3600.0,
    )
    host = make_host(broker, world, world)
    client = await aiohttp_client(
        create_app(settings, host=host, strategy_factory=default_strategy_factory)
    )
    if cycled:
        await service_of(client).run_cycle()
    return client


def paper_gold_world() -> tuple[World, Any]:
    """A world of XAUUSD M5 bars (300 of 400 visible) and a hedging paper broker that
    has seen its first 50: the broker a ``dtms serve`` engine reads in the tests of its
    registrations against the broker's positions."""
    from hostapp.brokers.paper import PaperBroker

    world = World({"XAUUSD": wavy_path(2000.0, 400)}, visible=300)
    broker = PaperBroker(clock=world.now)
    for bar in world.bars("XAUUSD", "M5", 50):
        broker.on_bar("XAUUSD", bar)
    return world, broker


async def redis_server_client(
    aiohttp_client: Callable[..., Awaitable[Any]], state_dir: Path, world: World, url: str
) -> Any:
    """A real DTMS server (the default engine, a monitoring cycle an hour apart: none
    runs in a test) on the Redis store at ``url``, no token, over ``world``'s broker."""
    from dtms_plugin.server import ServerSettings, create_app
    from dtms_plugin.server.service import default_strategy_factory
    from dtms_plugin.settings import DtmsSettings
    from hostapp.testing import make_host

    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(state_dir), store=url), token="", monitor_seconds=3600.0
    )
    app = create_app(
        settings, host=make_host(world.broker, world, world),
        strategy_factory=default_strategy_factory,
    )  # fmt: skip
    return await aiohttp_client(app)
