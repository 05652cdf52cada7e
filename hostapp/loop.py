"""The trading loop: one cycle per closed bar, the hooks in the contract's order.

A cycle at time ``now`` (the close time of the bars that just closed):

1. the broker sees the new bars (``PaperBroker.on_bar``): stops and targets inside the bar
   close trades, and ``on_trade_closed`` fires with ``stop_loss`` / ``take_profit``;
2. when a host-timeframe bar closed: ``propose_orders`` per symbol (with the newest 200
   closed bars; a strategy that needs more asks ``host.market``), each order through
   ``allow_order``, then ``broker.open`` and ``on_trade_executed`` with the position as
   the broker reports it;
3. ``on_cycle`` (DTMS evaluates and acts here), then, once every ``on_cycle``
   implementation has finished and while positions are open, ``manage_positions`` (the
   exit manager works here);
4. positions that vanished during 3 are reported with ``on_trade_closed``: reason
   ``action`` when they vanished during ``on_cycle``, ``exit`` during
   ``manage_positions``. The host tells the loop of every action it carries out
   (:meth:`~hostapp.host.Host.add_listener`), so it looks only after a phase that acted.

Given ``entries`` (a script: the entries another run took, by cycle time and symbol),
step 2 opens exactly those orders instead of asking ``propose_orders``, and no plugin
can veto them (``allow_order`` is still asked, and what it would have vetoed is counted
in ``entries_veto_overridden``): the "same entries" half of an A/B comparison, where
only trade management differs between the two runs.

The loop is the replay's hot path (a benchmark runs it over 100,000 bars), so everything
that can be decided once is decided in the constructor: which hooks have any
implementation, whether the broker is a simulated one (:class:`hookspecs.SimBroker`), the
timeframe arithmetic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from hookspecs import (
    Action,
    ActionResult,
    Bar,
    Broker,
    BrokerError,
    CloseReason,
    HostView,
    MarketView,
    OrderRequest,
    SimBroker,
    Trade,
)

from .market.timeframes import timeframe_seconds, to_epoch


class LoopPlugins(Protocol):
    """The part of :class:`hostapp.pluginhost.PluginHost` the loop drives."""

    async def propose_orders(
        self, host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
    ) -> list[tuple[str, OrderRequest]]: ...

    def allow_order(self, host: HostView, order: OrderRequest) -> str | None: ...

    async def on_trade_executed(self, host: HostView, trade: Trade) -> None: ...

    async def on_cycle(self, host: HostView, now: datetime) -> None: ...

    def is_defensive(self, host: HostView, ticket: int) -> bool: ...

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: CloseReason) -> None: ...

    async def manage_positions(self, host: HostView, now: datetime) -> None: ...

    def has_impls(self, hook: str) -> bool: ...


class LoopHost(HostView, Protocol):
    """The host the loop drives: a :class:`~hookspecs.HostView` that tells the loop of each
    action it carries out (:meth:`hostapp.host.Host.add_listener`)."""

    def add_listener(self, listener: Callable[[Action, ActionResult], None]) -> None: ...


class LoopClock(Protocol):
    """A :class:`~hostapp.clock.SimClock` (replay: the loop sets it) or the system clock."""

    def now(self) -> datetime: ...


class ScaledLoopClock(LoopClock, Protocol):
    """A :class:`~hostapp.clock.ScaledClock`: its own pace, which the loop waits in,
    once the loop has caught up on the history before ``live_from``."""

    live_from: datetime

    def go(self) -> None: ...

    def wall_seconds(self, seconds: float) -> float: ...


@runtime_checkable
class SettableClock(Protocol):
    """A clock the loop moves itself, bar by bar (a replay's :class:`~hostapp.clock.SimClock`)."""

    def set(self, t: datetime) -> None: ...


ProgressFn = Callable[[int, int], None]


#: Trades (and state changes, actions) a live run's report keeps for its per-trade
#: figures: a host that runs for months holds these, not every trade since it started.
#: Counts (trades, closes by reason, actions) stay totals; win rate, R and the states
#: reached cover the newest ``LIVE_WINDOW``.
LIVE_WINDOW = 1000


#: Distinct veto reasons counted one by one (:meth:`LoopStats.veto`); later ones go
#: under :data:`OTHER_VETOES`.
VETO_REASONS = 100
OTHER_VETOES = "other reasons"


class Recent(deque[Any]):
    """The newest ``maxlen`` items of a list a live run would otherwise grow for months,
    with a running count of every item appended, in total and by ``key`` (the summary's
    totals stay exact while its per-trade figures cover the window)."""

    def __init__(self, items: Iterable[Any], maxlen: int, key: Callable[[Any], Any]) -> None:
        super().__init__(maxlen=maxlen)
        self.key = key
        self.appended = 0
        self.by_key: Counter[Any] = Counter()
        for item in items:
            self.append(item)

    def append(self, item: Any) -> None:
        super().append(item)
        self.appended += 1
        self.by_key[self.key(item)] += 1


def appended(items: Sequence[Any]) -> int:
    """How many items were ever added: all of a list, or a :class:`Recent`'s count."""
    return items.appended if isinstance(items, Recent) else len(items)


def counted(items: Sequence[Any], key: Callable[[Any], Any]) -> Counter[Any]:
    """Items by ``key``: a :class:`Recent`'s running count (its own key), else counted."""
    return Counter(items.by_key) if isinstance(items, Recent) else Counter(map(key, items))


@dataclass
class LoopStats:
    """What the loop did, for the summary."""

    cycles: int = 0
    bars: int = 0
    orders_proposed: int = 0
    orders_vetoed: dict[str, int] = field(default_factory=dict)
    orders_rejected: int = 0
    entries_veto_overridden: int = 0  # scripted entries a plugin would have vetoed
    entries: list[tuple[datetime, Trade, str]] = field(default_factory=list)  # (time, trade, by)
    closes: list[tuple[datetime, Trade, str]] = field(default_factory=list)  # (time, trade, reason)
    interrupted: bool = False

    def veto(self, reason: str) -> None:
        """Count a vetoed order by its reason; reasons may name a ticket or a time, so
        past :data:`VETO_REASONS` distinct ones the rest are counted together."""
        vetoed = self.orders_vetoed
        if reason not in vetoed and len(vetoed) >= VETO_REASONS:
            reason = OTHER_VETOES
        vetoed[reason] = vetoed.get(reason, 0) + 1

    def bound(self, window: int) -> None:
        """Keep only the newest ``window`` entries and closes (a live run), counting all."""
        self.entries = Recent(self.entries, window, key=lambda e: e[2])  # type: ignore[assignment]
        self.closes = Recent(self.closes, window, key=lambda c: c[2])  # type: ignore[assignment]


class TradingLoop:
    """Drives one host: a broker, a market view and the plugins."""

    def __init__(
        self,
        *,
        host: LoopHost,
        plugins: LoopPlugins,
        broker: Broker,
        market: MarketView,
        clock: LoopClock,
        symbols: Sequence[str],
        timeframe: str,
        lookback: int = 200,
        entries: Mapping[tuple[datetime, str], Sequence[OrderRequest]] | None = None,
    ) -> None:
        self.host = host
        self.plugins = plugins
        self.broker = broker
        self.market = market
        self.clock = clock
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.lookback = lookback
        self.script = entries
        self.stats = LoopStats()
        self.stop_requested = False
        self._wake: asyncio.Event | None = None
        self._aio: asyncio.AbstractEventLoop | None = None
        self._tf_seconds = timeframe_seconds(timeframe)
        self._set_clock = clock.set if isinstance(clock, SettableClock) else None
        sim = broker if isinstance(broker, SimBroker) else None
        self._on_bar = sim.on_bar if sim is not None else None
        self._closed_trade = sim.closed_trade if sim is not None else None
        self._propose = plugins.has_impls("propose_orders")
        self._on_cycle = plugins.has_impls("on_cycle")
        self._manage = plugins.has_impls("manage_positions")
        self._on_closed = plugins.has_impls("on_trade_closed")
        self._on_executed = plugins.has_impls("on_trade_executed")
        # Set by the host each time it carries out an action: a phase that acted may have
        # closed or opened positions.
        self._acted = False
        host.add_listener(self._note_action)
        # Open positions as of the end of the last cycle: what "vanished" is measured against.
        self._known: dict[int, Trade] = {}

    def _note_action(self, action: Action, result: ActionResult) -> None:
        self._acted = True

    # -- control -----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the loop to stop after the current cycle. Safe from a signal handler."""
        self.stop_requested = True
        if self._wake is not None and self._aio is not None:
            # A signal handler may run while the event loop sits in select(): wake it.
            with contextlib.suppress(RuntimeError):  # the event loop already closed
                self._aio.call_soon_threadsafe(self._wake.set)

    # -- one cycle ---------------------------------------------------------------------

    async def cycle(self, now: datetime, new_bars: Mapping[str, Bar], tf_closed: bool) -> None:
        """Run the hooks for the bars in ``new_bars`` that closed at ``now``.

        ``tf_closed`` says whether a host-timeframe bar closed too (always, when the host
        timeframe is the base timeframe); only then are orders proposed."""
        if self._set_clock is not None:
            self._set_clock(now)
        stats = self.stats
        stats.cycles += 1
        stats.bars += len(new_bars)
        known = self._known
        on_bar = self._on_bar
        if on_bar is not None:
            for symbol, bar in new_bars.items():
                closed = on_bar(symbol, bar)
                if closed:
                    for trade, reason in closed:
                        known.pop(trade.ticket, None)
                        await self._closed(now, trade, reason)
        elif known:
            await self._sweep(now, "external")
        if tf_closed and self.script is not None:
            for symbol in new_bars:
                for order in self.script.get((now, symbol), ()):
                    await self._place(now, symbol, order.source, order, veto_binds=False)
        elif tf_closed and self._propose:
            for symbol in new_bars:
                await self._orders(now, symbol)
        if self._on_cycle:
            await self.plugins.on_cycle(self.host, now)
            if known:
                await self._sweep(now, "action")
        if self._manage and known:
            self._acted = False
            await self.plugins.manage_positions(self.host, now)
            # Managers act only through host.execute: no action, nothing closed.
            if self._acted:
                await self._sweep(now, "exit")

    async def _orders(self, now: datetime, symbol: str) -> None:
        host = self.host
        plugins = self.plugins
        bars = self.market.bars(symbol, self.timeframe, self.lookback)
        proposed = await plugins.propose_orders(host, symbol, bars, now)
        if not proposed:
            return
        for source, order in proposed:
            await self._place(now, symbol, source, order)

    async def _place(
        self, now: datetime, symbol: str, source: str, order: OrderRequest, veto_binds: bool = True
    ) -> None:
        """``allow_order``, then the broker, then ``on_trade_executed``. A scripted entry
        (``veto_binds`` False) is opened whatever the plugins say; a veto is counted."""
        host, plugins, stats = self.host, self.plugins, self.stats
        stats.orders_proposed += 1
        veto = plugins.allow_order(host, order)
        if veto is not None:
            if veto_binds:
                stats.veto(veto)
                host.log.info(
                    "order %s %s from %s vetoed: %s", order.direction, symbol, source, veto
                )
                return
            stats.entries_veto_overridden += 1
        result = self.broker.open(order)
        if not result.ok or result.new_ticket is None:
            stats.orders_rejected += 1
            host.log.warning(
                "order %s %s from %s refused: %s %s",
                order.direction,
                symbol,
                source,
                result.code,
                result.message,
            )
            return
        trade = self.broker.position(result.new_ticket)
        if trade is None:  # filled and already gone (cannot happen on paper)
            return
        self._known[trade.ticket] = trade
        stats.entries.append((now, trade, source))
        if self._on_executed:
            await plugins.on_trade_executed(host, trade)

    async def _sweep(self, now: datetime, reason: CloseReason) -> None:
        """Report every known position that is no longer open, with ``reason``; adopt
        positions that appeared (hedges, re-adds) so their closing is reported too."""
        current = {t.ticket: t for t in self.broker.positions()}
        known = self._known
        gone = [ticket for ticket in known if ticket not in current]
        for ticket in gone:
            last = known.pop(ticket)
            await self._closed(now, self._closed_record(ticket, last), reason)
        known.update(current)

    def _closed_record(self, ticket: int, last: Trade) -> Trade:
        """The closed trade as the broker recorded it; the last open view if it keeps none."""
        if self._closed_trade is not None:
            return self._closed_trade(ticket) or last
        return last

    async def _closed(self, now: datetime, trade: Trade, reason: CloseReason) -> None:
        self.stats.closes.append((now, trade, reason))
        if self._on_closed:
            await self.plugins.on_trade_closed(self.host, trade, reason)

    # -- drivers -----------------------------------------------------------------------

    async def run_replay(
        self,
        feed: Any,
        *,
        progress: ProgressFn | None = None,
        pace_seconds: float = 0.0,
    ) -> LoopStats:
        """Replay ``feed`` (a :class:`~hostapp.market.feed.ReplayFeed`) to its end, or until
        :meth:`request_stop`. ``pace_seconds`` > 0 waits that long between cycles (a
        paper "live" run); the wait ends early on a stop request."""
        total: int = feed.step_count()  # exact, or a bound for a streamed feed
        tf = self._tf_seconds
        aligned = tf == timeframe_seconds(feed.base_timeframe)
        advance = feed.advance
        cycle = self.cycle
        self._aio = asyncio.get_running_loop()
        if pace_seconds > 0:
            self._wake = asyncio.Event()
        i = 0
        for i, now in enumerate(feed.steps(), 1):
            if self.stop_requested:
                self.stats.interrupted = True
                break
            new_bars = advance(now)
            if new_bars:
                await cycle(now, new_bars, aligned or to_epoch(now) % tf == 0)
            if progress is not None:
                progress(i, max(total, i))
            if pace_seconds > 0 and self._wake is not None:
                await _sleep_or_wake(self._wake, pace_seconds)
        if progress is not None and i != total and not self.stats.interrupted:
            progress(i, i)  # a streamed feed's count was a bound: it ends at 100 %
        return self.stats

    async def run_scaled(
        self,
        feed: Any,
        clock: ScaledLoopClock,
        *,
        cycle_seconds: float,
        progress: ProgressFn | None = None,
    ) -> LoopStats:
        """Play ``feed`` on ``clock`` (``--speed``). The steps up to ``clock.live_from``
        are history: played at once, as a replay (the cycle sets the clock to each). Then
        the clock runs: each step's bars once it reaches the step's time, one cycle per
        step (a run that fell behind catches up), and between steps a cycle without new
        bars every ``cycle_seconds`` of the clock's time, as a live host watches prices
        between bars. Every wait is the clock's time converted to the wall's, so the
        whole run keeps one pace."""
        total: int = feed.step_count()
        tf = self._tf_seconds
        aligned = tf == timeframe_seconds(feed.base_timeframe)
        self._aio = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        steps = iter(feed.steps())
        due: datetime | None = next(steps, None)
        watch: datetime | None = None  # the next cycle without a new bar
        i = 0
        live_from = clock.live_from
        while due is not None and not self.stop_requested:
            if due > live_from:
                clock.go()  # the history is caught up on (a no-op once running)
            now = clock.now()
            if due <= now or due <= live_from:
                new_bars = feed.advance(due)
                if new_bars:
                    await self.cycle(due, new_bars, aligned or to_epoch(due) % tf == 0)
                i += 1
                if progress is not None:
                    progress(i, max(total, i))
                watch = due + timedelta(seconds=cycle_seconds)
                due = next(steps, None)
                await asyncio.sleep(0)  # a run catching up still lets the dashboard answer
                continue
            if watch is not None and now >= watch:
                await self.cycle(now, {}, False)
                watch = now + timedelta(seconds=cycle_seconds)
            until = due if watch is None else min(due, watch)
            await _sleep_or_wake(wake, clock.wall_seconds((until - clock.now()).total_seconds()))
        self.stats.interrupted = self.stop_requested
        if progress is not None and due is None and i != total:
            progress(i, i)  # a streamed feed's count was a bound: it ends at 100 %
        return self.stats

    async def run_live(
        self,
        *,
        cycle_seconds: float,
        bar_source: Callable[[str], Awaitable[Bar | None] | Bar | None],
        now_fn: Callable[[], datetime],
    ) -> LoopStats:
        """Real time: every ``cycle_seconds``, ask ``bar_source(symbol)`` for the newest
        closed bar of each symbol; a bar not seen before makes a cycle at ``now_fn()``."""
        self._aio = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        last_seen: dict[str, datetime] = {}
        while not self.stop_requested:
            try:
                new_bars: dict[str, Bar] = {}
                for symbol in self.symbols:
                    got = bar_source(symbol)
                    bar = await got if isinstance(got, Awaitable) else got
                    if bar is not None and last_seen.get(symbol) != bar.time:
                        last_seen[symbol] = bar.time
                        new_bars[symbol] = bar
                # Without a new bar it is still a cycle: DTMS and the exits watch live prices.
                await self.cycle(now_fn(), new_bars, bool(new_bars))
            except BrokerError as exc:
                # The terminal went away or answered nonsense: skip this cycle, try again.
                self.host.log.error("cycle skipped: %s", exc)
            await _sleep_or_wake(self._wake, cycle_seconds)
        self.stats.interrupted = True
        return self.stats


async def _sleep_or_wake(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
