"""The trading loop: one cycle per closed bar, the hooks in the contract's order.

A cycle at time ``now`` (the close time of the bars that just closed):

1. the broker sees the new bars (``PaperBroker.on_bar``): stops and targets inside the bar
   close trades, and ``on_trade_closed`` fires with ``stop_loss`` / ``take_profit``;
2. when a host-timeframe bar closed: ``propose_orders`` per symbol (with the newest 200
   closed bars; a strategy that needs more asks ``host.market``), each order through
   ``allow_order``, then ``broker.open`` and ``on_trade_executed`` with the position as
   the broker reports it (on a netting account, what an order the other way closed is
   reported with ``netted``);
3. ``on_cycle`` (DTMS evaluates and acts here), then, once every ``on_cycle``
   implementation has finished and while positions are open, ``manage_positions`` (the
   exit manager works here);
4. positions that vanished during 3 are reported with ``on_trade_closed``: reason
   ``action`` when they vanished during an ``on_cycle`` that acted, ``exit`` during
   ``manage_positions``, ``external`` when no plugin acted, unless the broker says it
   closed them at their stop or target (:class:`hookspecs.CloseReasons`: another
   program's trade on a shared account). The host tells the loop of every action it
   carries out (:meth:`~hostapp.host.Host.add_listener`), so it knows which phase acted.
   What an ``on_trade_closed`` implementation's action closes (DTMS closing its hedge as
   the hedged trade is stopped out, in any step) is ``action``, as in ``on_cycle``.

A live broker's list can lack a position that is still open, or one whose closing deals
its history does not show yet: a position is reported closed once the broker confirms it
(:mod:`hostapp.loop_gone`), and asked about again at each sweep meanwhile.

Given ``entries`` (a script: the entries another run took, by cycle time and symbol),
step 2 opens exactly those orders instead of asking ``propose_orders``, and no plugin
can veto them (``allow_order`` is still asked, and what it would have vetoed is counted
in ``entries_veto_overridden``, and by plugin): the "same entries" half of an A/B comparison, where
only trade management differs between the two runs.

The loop is the replay's hot path (a benchmark runs it over 100,000 bars), so everything
that can be decided once is decided in the constructor: which hooks have any
implementation, whether the broker is a simulated one (:class:`hookspecs.SimBroker`), the
timeframe arithmetic.

How cycles are driven (a replay, a scaled clock, real time) is the mixin
:class:`~hostapp.loop_drivers.LoopDrivers`; what the loop counts for the summary is
:mod:`hostapp.loop_stats`; what it needs of the plugins, the host and a replay's clock
is :mod:`hostapp.loop_protocols`. Their names are re-exported here, the loop's one import
path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime

from hookspecs import (
    Action,
    ActionResult,
    Bar,
    Broker,
    CloseReason,
    MarketView,
    OrderRequest,
    ResultCode,
    SimBroker,
    Trade,
)

from .episodes import RUN_ENDED, THROUGH, Episodes, FailedGuards
from .hookcalls import failed_kind
from .loop_drivers import LoopClock, LoopDrivers, ProgressFn, ScaledLoopClock
from .loop_gone import GonePositions
from .loop_protocols import LoopHost, LoopPlugins, SettableClock, StepFed
from .loop_stats import (
    LIVE_WINDOW,
    OTHER_VETOES,
    VETO_REASONS,
    LoopStats,
    Recent,
    RecentCloses,
    RecentEntries,
    RecentStates,
    appended,
    counted,
    reached_by_state,
)
from .market.timeframes import timeframe_seconds

#: what an open on a netting account did that opened no position of its own (a reversal
#: did: its new side is an entry)
_CHANGED_POSITION = frozenset({"added", "reduced", "closed"})

__all__ = [
    "LIVE_WINDOW",
    "OTHER_VETOES",
    "VETO_REASONS",
    "LoopClock",
    "LoopHost",
    "LoopPlugins",
    "LoopStats",
    "ProgressFn",
    "Recent",
    "RecentCloses",
    "RecentEntries",
    "RecentStates",
    "ScaledLoopClock",
    "SettableClock",
    "TradingLoop",
    "appended",
    "counted",
    "reached_by_state",
]


class TradingLoop(LoopDrivers):
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
        #: a paper account traded up to this time before (a restart): the steps up to it
        #: enter the market's history without a cycle (hostapp.loop_drivers)
        self.resume_from: datetime | None = None
        #: symbols fed only to price and defend the positions open on them (out of
        #: ``[host] symbols``, hostapp.open_symbols): no order is proposed on them
        self.untraded: frozenset[str] = frozenset()
        self._wake: asyncio.Event | None = None
        self._aio: asyncio.AbstractEventLoop | None = None
        self._tf_seconds = timeframe_seconds(timeframe)
        self._set_clock = clock.set if isinstance(clock, SettableClock) else None
        sim = broker if isinstance(broker, SimBroker) else None
        self._on_bar = sim.on_bar if sim is not None else None
        self._step = broker.step if isinstance(broker, StepFed) else nullcontext
        #: positions the broker's list lacks, until it confirms how they closed
        self._gone = GonePositions(broker, host.log)
        self._propose = plugins.has_impls("propose_orders")
        self._on_cycle = plugins.has_impls("on_cycle")
        self._manage = plugins.has_impls("manage_positions")
        self._on_closed = plugins.has_impls("on_trade_closed")
        self._on_executed = plugins.has_impls("on_trade_executed")
        # Set by the host each time it carries out an action that may have traded: a phase
        # that acted may have closed or opened positions.
        self._acted = False
        self._close_acted = False  # an on_trade_closed acted: a sweep is owed (_closed)
        host.add_listener(self._note_action)
        # Open positions as of the end of the last cycle: what "vanished" is measured against.
        self._known: dict[int, Trade] = {}
        self._adopted = False  # the positions open before the first cycle are known
        self._vetoes = Episodes(host.log, logging.INFO, "vetoed")
        self._refusals = Episodes(host.log, logging.WARNING, "refused")
        self._failed = FailedGuards(host.log)  # ended with their failures', not by an order

    def _note_action(self, action: Action, result: ActionResult) -> None:
        """Only an action that may have traded makes a phase's close its own: one refused
        (a stop change answered ``not_found`` for a position the broker had just stopped
        out) closed nothing, and the close stays ``external`` (docs/mt5.md, "Closes the
        server made"). An unknown outcome, or a failure that filled part, may have."""
        if result.ok or result.code is ResultCode.UNKNOWN_OUTCOME or result.filled_volume:
            self._acted = True

    def _adopt_open_positions(self) -> None:
        """At the first cycle, the positions already open (a restart after a crash, a
        resumed paper account): known from then on, so ``manage_positions`` watches them
        and their closes are reported, as if this run had opened them. A broker that
        fails here fails the cycle (a live run skips it) and is asked again next time."""
        found = self.broker.positions()
        self._known.update((t.ticket, t) for t in found)
        self.stats.open_at_start.update(t.ticket for t in found)
        self._adopted = True

    def end_episodes(self, ended: str) -> None:
        """An order went through (``ended``: :data:`~hostapp.episodes.THROUGH`), or the run
        ends (:data:`~hostapp.episodes.RUN_ENDED`): the vetoes and refusals counted since
        their episode's first line are said (:mod:`hostapp.episodes`)."""
        self._vetoes.end_all(ended)
        self._refusals.end_all(ended)

    def end_run(self) -> None:
        """The run ends: its episodes are said, and so are the positions still waiting
        for the broker to confirm their close (:mod:`hostapp.loop_gone`). Only here: an
        order going through mid-run must not drop a close still to be reported."""
        self.end_episodes(RUN_ENDED)
        self._failed.end_all(RUN_ENDED)
        self.stats.unconfirmed_at_end = self._gone.at_end()
        self.stats.unsynced_lists = self._gone.unsynced

    # -- one cycle ---------------------------------------------------------------------

    async def cycle(self, now: datetime, new_bars: Mapping[str, Bar], tf_closed: bool) -> None:
        """Run the hooks for the bars in ``new_bars`` that closed at ``now``.

        ``tf_closed`` says whether a host-timeframe bar closed too (always, when the host
        timeframe is the base timeframe); only then are orders proposed."""
        if self._set_clock is not None:
            self._set_clock(now)
        self.plugins.new_cycle()  # a live run's breaker: a retry due, one that answered
        stats = self.stats
        stats.cycles += 1
        stats.bars += len(new_bars)
        if not self._adopted:
            self._adopt_open_positions()
        known = self._known
        on_bar = self._on_bar
        if on_bar is not None:
            # every symbol's bar of the step is in before a plugin hears of a close: one
            # acting then on a symbol fed later in the step found it a period behind the
            # others, its market closed (hostapp/brokers/paper_orders.py)
            with self._step():
                fed = [on_bar(symbol, bar) for symbol, bar in new_bars.items()]
            for closed in fed:
                for trade, reason in closed:
                    known.pop(trade.ticket, None)
                    await self._closed(now, trade, reason)
            await self._sweep_owed(now)
        elif known or self._gone:
            await self._sweep(now, "external")
        if tf_closed and self.script is not None:
            for symbol in new_bars:
                for order in self.script.get((now, symbol), ()):
                    await self._place(now, order.source, order, veto_binds=False)
        elif tf_closed and self._propose:
            for symbol in new_bars:
                if symbol not in self.untraded:
                    await self._orders(now, symbol)
        if self._on_cycle:
            self._acted = False
            await self.plugins.on_cycle(self.host, now)
            if known or self._gone:
                # a close no plugin's action made happened in the market (docs/mt5.md)
                await self._sweep(now, "action" if self._acted else "external")
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
            await self._place(now, source, order)

    async def _place(
        self, now: datetime, source: str, order: OrderRequest, veto_binds: bool = True
    ) -> None:
        """``allow_order``, then the broker, then ``on_trade_executed``. A scripted entry
        (``veto_binds`` False) is opened whatever the plugins say; a veto is counted."""
        host, plugins, stats = self.host, self.plugins, self.stats
        stats.orders_proposed += 1
        veto = plugins.veto(host, order)
        failed = self._failed
        if failed:  # a failing guard's episode ends with the episode of its failures
            failed.end_answered(plugins.failing)
        if veto is not None:
            if veto_binds:
                stats.veto(veto.kind)
                stats.missed.append((now, order.symbol, order.direction, ("vetoed", veto.plugin)))
                if (
                    failed.first_of(veto.plugin, now)
                    if veto.kind == failed_kind(veto.plugin, "allow_order")
                    else self._vetoes.first(veto.reason, now)
                ):
                    host.log.info(
                        "order %s %s from %s vetoed: %s",
                        order.direction,
                        order.symbol,
                        source,
                        veto.reason,
                    )
                return
            stats.overridden(veto.plugin)
        result = self.broker.open(order)
        if result.ok and result.netting is not None:
            await self._netted(now, order, result)
            if result.netting in _CHANGED_POSITION:
                stats.missed.append(
                    (now, order.symbol, order.direction, ("netted", result.netting))
                )
                return
        if not result.ok or result.new_ticket is None:
            code = str(getattr(result.code, "value", result.code))
            stats.refused(code, result.message, now)
            stats.missed.append((now, order.symbol, order.direction, ("refused", code)))
            if self._refusals.first(code, now):
                host.log.warning(
                    "order %s %s from %s refused: %s %s",
                    order.direction,
                    order.symbol,  # the order's own: a strategy may propose for another symbol
                    source,
                    result.code,
                    result.message,
                )
            return
        self.end_episodes(THROUGH)
        stats.dry_from = None  # an order went through: the account had money
        trade = self.broker.position(result.new_ticket)
        if trade is None:  # filled and already gone (cannot happen on paper)
            return
        self._known[trade.ticket] = trade
        stats.entries.append((now, trade, source))
        if self._on_executed:
            await plugins.on_trade_executed(host, trade)

    async def _netted(self, now: datetime, order: OrderRequest, result: ActionResult) -> None:
        """An order that changed the symbol's position on a netting account. Added to,
        reduced or closed: not an entry (no trade opened, so no ``on_trade_executed``),
        counted apart. A reversal's new side is an entry; its old side closed. What the
        order closed is reported now, with reason ``netted`` (no exit rule closed it: the
        strategy's order the other way did); the loop keeps the changed position's newest
        view."""
        effect = str(result.netting)
        self.stats.netted[effect] = self.stats.netted.get(effect, 0) + 1
        self.stats.dry_from = None  # it went through: the account had money
        self.end_episodes(THROUGH)
        ticket, known = result.new_ticket, self._known
        if effect == "reversed" and ticket in known and known[ticket].direction != order.direction:
            # MetaTrader keeps the ticket through a reversal: the old side closed all the same
            await self._closed(now, known.pop(ticket), "netted")
        await self._sweep(now, "netted")

    async def _sweep(self, now: datetime, reason: CloseReason) -> None:
        """Report every known position that is no longer open, once the broker confirms
        it (:mod:`hostapp.loop_gone`), with the broker's reason when it closed it at a
        stop or target (:class:`hookspecs.CloseReasons`: a live account's stop hit between
        cycles, another program's trade on a shared account), else with ``reason``, the
        phase that found it gone; adopt positions that appeared (hedges, re-adds) so their
        closing is reported too."""
        current = {t.ticket: t for t in self.broker.positions()}
        for record, why in self._gone.sweep(now, reason, self._known, current):
            await self._closed(now, record, why)
        self._known.update(current)
        await self._sweep_owed(now)

    async def _sweep_owed(self, now: datetime) -> None:
        """What an ``on_trade_closed`` implementation's actions closed (a hedge) is
        reported as theirs, ``action``, as the same close made in ``on_cycle`` is."""
        if self._close_acted:
            self._close_acted = False
            await self._sweep(now, "action")

    async def _closed(self, now: datetime, trade: Trade, reason: CloseReason) -> None:
        self.stats.closes.append((now, trade, reason))
        if trade.ticket in self.stats.open_at_start:
            self.stats.carried_closed(trade.ticket, trade.profit)
        if self._on_closed:
            # An action taken on hearing of a close (DTMS closing its hedge when the hedged
            # trade is stopped out) is the plugin's, as in on_cycle (_sweep_owed); the
            # phase's own flag stays as the phase's actions set it.
            phase_acted, self._acted = self._acted, False
            await self.plugins.on_trade_closed(self.host, trade, reason)
            self._close_acted |= self._acted
            self._acted = phase_acted
