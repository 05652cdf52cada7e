"""The exit manager: the host's builtin plugin ``exits``.

It does what a discretionary trader does with a winning trade, and nothing to a losing
one: stop at breakeven (plus a small buffer) once the trade is +1R, trail the stop one ATR
behind price from +1.5R, and bank half at +2R. R is the distance from the entry to the
*initial* stop loss, remembered when the trade is executed, because the stop itself moves.

A live or serving host keeps what the manager knows of each trade (its R above all) in
``<data_dir>/exits/trades.json``, written when it changes (:mod:`hostapp.exits_restarts`):
after a restart the stop may sit at breakeven already, and the trade's R can no longer be
read from it.

Two rules keep it from fighting DTMS: before it moves a stop or closes a part it asks
``host.is_defensive`` (a trade under defensive management is left to its defender), and stops
only ever tighten. Holding back is not silent: the first cycle it wants something new of
a defended trade, it logs one INFO line (ticket, symbol, what it wanted) and counts it in
:attr:`ExitManager.held_back`, which its ``run_report`` gives as ``held_defensive`` (the
run summary's ``exits_held_defensive``); those of the holds that came while the trade's
own state, as ``on_state_change`` last said it, was not defensive (the answer was for the
whole account, such as a defensive mode after a daily loss) it gives as
``held_not_own_state``, so an A/B can say why trades were left alone.
It acts through ``host.execute`` so every move is an ordinary :class:`~hookspecs.Action`
that other plugins see in ``on_action``.

It is an ordinary plugin: its work is the ``manage_positions`` hook, which the trading
loop fires once per cycle after every ``on_cycle`` implementation has finished, under the
same isolation, timeout and breaker as any hook.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import (
    Action,
    ActionKind,
    DefensiveState,
    HostView,
    Trade,
    hookimpl,
    parse_settings,
    require_buildable,
)

from .exit_settings import ExitSettings, wilder_atr
from .exits_notes import partial_report, too_small_words, with_unmanaged_note
from .exits_restarts import STATE_FILE, RestartMemory
from .exits_state import Due, Managed, Progress

PLUGIN_NAME = "exits"


#: Tickets whose holds a live or serving host's run report keeps: the same window as the
#: host's own per-trade figures (docs/architecture.md, "Run modes").
HELD_WINDOW = 1000


class ExitManager(RestartMemory):
    """Breakeven, trailing stop and partial close for the trades the host opened."""

    def __init__(self) -> None:
        self.settings = ExitSettings()
        self._trades: dict[int, Managed] = {}
        self._atr_cache: dict[str, tuple[datetime, float | None]] = {}
        #: Per ticket, how many times the manager wanted to act and held back because the
        #: trade was defensive: once per run of cycles wanting the same actions, not once
        #: per cycle. Kept after the trade closes, for the run report: all of them in a
        #: simulated run, the newest ``held_window`` tickets in a live or serving one.
        self.held_back: dict[int, int] = {}
        #: Of those, per ticket, the holds while the trade's own state was not defensive.
        self.held_not_own: dict[int, int] = {}
        #: Per trade opened in this run, whether its own state is defensive, as
        #: ``on_state_change`` last said (a new trade's is not: none is said until it
        #: moves); a trade resumed after a restart has none: its holds are not judged.
        self._own_defensive: dict[int, bool] = {}
        self.held_window: int | None = None
        self._file: Path | None = None  # where a live host keeps the managed trades
        self._save_failed = False
        #: open positions found at start-up with no record of their initial risk
        self._unmanaged_at_start: list[int] = []
        #: Trades whose take-profit sat at or before ``partial_at_r``: the target closes
        #: them first, so the partial close could not happen (the first is logged, all
        #: are counted in the run report's note).
        self.partial_unreachable = 0
        #: Partial closes due and not sent because the trade's volume cannot be split into
        #: a part and a rest each at least the broker's minimum (a minimum-lot trade): the
        #: first is logged, all are counted in the run report, as DTMS counts its own.
        self.partial_too_small = 0
        self._too_small_why = ""

    # -- hooks -------------------------------------------------------------------------

    @hookimpl
    def startup(self, host: HostView) -> None:
        """A live or serving host resumes the trades it managed before it stopped; a
        position closed meanwhile leaves at the first cycle that misses it."""
        if host.mode == "simulated":
            return  # a replay starts from nothing and must be quick
        self._file = host.data_dir(PLUGIN_NAME) / STATE_FILE
        self._load(host)
        self._say_unmanaged(host)

    @hookimpl
    def configure(self, host: HostView) -> None:
        source = getattr(getattr(host, "config", None), "source", "plugins.toml")
        where = f"{source} [plugin.{PLUGIN_NAME}]"
        self.settings = parse_settings(ExitSettings, host.config_for(PLUGIN_NAME), where)
        if self.settings.atr_timeframe:  # empty: the host's, which the host checked
            base = host.market.base_timeframe
            require_buildable(self.settings.atr_timeframe, base, f"{where} atr_timeframe")
        # a host that runs for months reports on its newest trades, not on every one
        self.held_window = None if host.mode == "simulated" else HELD_WINDOW

    @hookimpl
    def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        if trade.stop_loss is None:
            return  # no initial stop, no R: nothing to measure the rules against
        risk = abs(trade.entry_price - trade.stop_loss)
        if risk > 0:
            self._trades[trade.ticket] = Managed(risk=risk)
            self._own_defensive[trade.ticket] = False
            self._save(host)
            self._check_target(host, trade, risk)

    def _check_target(self, host: HostView, trade: Trade, risk: float) -> None:
        """Say so when the trade's take-profit comes at or before the partial close's level:
        the rule is switched on but can never act on this trade."""
        s = self.settings
        if not s.partial or trade.take_profit is None:
            return
        target_r = (trade.take_profit - trade.entry_price) * trade.sign / risk
        if target_r > s.partial_at_r:
            return
        if not self.partial_unreachable:
            host.log.info(
                "exits: ticket %d's take-profit is at %+.2fR, not beyond partial_at_r = %g: "
                "the target closes it before a partial close can (lower partial_at_r, or set "
                "partial = false); later trades like it are counted in the run report",
                trade.ticket, target_r, s.partial_at_r,
            )  # fmt: skip
        self.partial_unreachable += 1

    @hookimpl
    def on_state_change(self, ticket: int, new: DefensiveState) -> None:
        """The trade's own state as its defender says it: a CLOSED trade whose close is
        still owed is its defender's to close, as a defensive one is."""
        if ticket in self._own_defensive:
            self._own_defensive[ticket] = new.defensive or new is DefensiveState.CLOSED

    @hookimpl
    def on_trade_closed(self, host: HostView, trade: Trade) -> None:
        self._own_defensive.pop(trade.ticket, None)
        if self._trades.pop(trade.ticket, None) is not None:
            self._save(host)

    @hookimpl
    def run_report(self) -> dict[str, Any]:
        held = {str(ticket): n for ticket, n in sorted(self.held_back.items()) if n}
        not_own = {str(ticket): n for ticket, n in sorted(self.held_not_own.items()) if n}
        report: dict[str, Any] = {"held_defensive": held, "held_not_own_state": not_own}
        at_r, example = self.settings.partial_at_r, self._too_small_why
        out = report | partial_report(
            at_r, self.partial_unreachable, self.partial_too_small, example
        )
        return with_unmanaged_note(out, self._unmanaged_at_start, self._unreadable)

    @property
    def managed_tickets(self) -> list[int]:
        return list(self._trades)

    def initial_risk(self, ticket: int) -> float | None:
        managed = self._trades.get(ticket)
        return managed.risk if managed else None

    @hookimpl
    def manage_positions(self, host: HostView, now: datetime) -> Awaitable[None] | None:
        """Apply the rules to every managed trade once. Sync while no rule acts (most
        bars of a replay: no coroutine, no deadline; the spec allows either): the first
        trade with something to send hands the rest of the pass to a coroutine, which
        goes on through the trades after it in the same order."""
        if not self._trades:
            return None
        s = self.settings
        if not (s.breakeven or s.trailing or s.partial):
            return None
        # a live host's memory is written when a pass moved it (exits_restarts)
        before = self._progress() if self._file is not None else None
        tickets = list(self._trades)
        handed_over = False
        try:
            for i, ticket in enumerate(tickets):
                due = self._due(host, ticket)
                if due is not None:
                    handed_over = True
                    return self._carry_out(host, due, tickets[i + 1 :], before)
        finally:
            if not handed_over:
                self._save_if_moved(host, before)
        return None

    async def _carry_out(
        self, host: HostView, due: Due, rest: list[int], before: Progress | None
    ) -> None:
        """Send what ``due`` asks, then go on with the trades in ``rest``."""
        try:
            await self._act_on(host, due)
            for ticket in rest:
                later = self._due(host, ticket)
                if later is not None:
                    await self._act_on(host, later)
        finally:
            self._save_if_moved(host, before)

    def _progress(self) -> Progress:
        return {t: (m.seq, m.partial_done) for t, m in self._trades.items()}

    def _save_if_moved(self, host: HostView, before: Progress | None) -> None:
        if before is not None and before != self._progress():
            self._save(host)

    def _due(self, host: HostView, ticket: int) -> Due | None:
        """What the rules want sent for ``ticket`` now, or None: its position gone (it
        leaves the manager), unpriced, nothing due, or defended (held back, said once)."""
        s = self.settings
        managed = self._trades[ticket]
        broker = host.broker
        pos = broker.position(ticket)
        if pos is None:
            del self._trades[ticket]
            self._own_defensive.pop(ticket, None)
            return None
        quote = broker.quote(pos.symbol)
        if quote is None:
            return None
        price = quote.bid if pos.direction == "buy" else quote.ask
        gain_r = (price - pos.entry_price) * pos.sign / managed.risk
        wants_partial = s.partial and not managed.partial_done and gain_r >= s.partial_at_r
        new_stop = self._stop_candidate(host, pos, managed, price, gain_r)
        if new_stop is None and not wants_partial:
            managed.held = ()
            return None
        if host.is_defensive(ticket):
            # its defender decides; ask again next cycle
            wanted: tuple[str, ...] = (new_stop[0].value,) if new_stop else ()
            if wants_partial:
                wanted += (ActionKind.PARTIAL_CLOSE.value,)
            self._hold(host, managed, ticket, pos.symbol, wanted)
            return None
        managed.held = ()
        return Due(managed, pos, gain_r, new_stop, wants_partial)

    async def _act_on(self, host: HostView, due: Due) -> None:
        managed, pos, gain_r = due.managed, due.pos, due.gain_r
        if due.new_stop is not None:
            kind, stop = due.new_stop
            params = {"stop_loss": stop}
            await self._act(host, managed, pos.ticket, kind, params, f"{gain_r:+.2f}R")
        if due.wants_partial:
            await self._partial(host, managed, pos, gain_r)

    def _hold(
        self, host: HostView, managed: Managed, ticket: int, symbol: str, wanted: tuple[str, ...]
    ) -> None:
        """Report holding back, once while the manager keeps wanting the same actions."""
        if managed.held == wanted:
            return
        managed.held = wanted
        held = self.held_back
        held[ticket] = held.get(ticket, 0) + 1
        if self._own_defensive.get(ticket) is False:  # the answer was not for its own state
            self.held_not_own[ticket] = self.held_not_own.get(ticket, 0) + 1
        if self.held_window is not None and len(held) > self.held_window:
            oldest = next(iter(held))  # the ticket first held longest ago
            del held[oldest]
            self.held_not_own.pop(oldest, None)
        host.log.info(
            "exits: ticket %d %s left alone (defensive): wanted %s",
            ticket,
            symbol,
            ", ".join(wanted),
        )

    # -- rules -------------------------------------------------------------------------

    def _stop_candidate(
        self, host: HostView, pos: Trade, managed: Managed, price: float, gain_r: float
    ) -> tuple[ActionKind, float] | None:
        """The tightest stop the rules allow now, if it is tighter than the current one."""
        s = self.settings
        sign = pos.sign
        best: float | None = None
        kind = ActionKind.TIGHTEN_SL
        if s.breakeven and gain_r >= s.breakeven_at_r:
            best = pos.entry_price + sign * s.breakeven_buffer_r * managed.risk
            kind = ActionKind.MOVE_SL_BREAKEVEN
        step = 0.0
        if s.trailing and gain_r >= s.trail_from_r:
            atr = self._atr(host, pos.symbol)
            if atr is not None and atr > 0:
                trail = price - sign * s.trail_atr_multiple * atr
                if best is None or (trail - best) * sign > 0:
                    best, kind = trail, ActionKind.TIGHTEN_SL
                    step = s.trail_step_r * managed.risk
        if best is None:
            return None
        info = host.broker.symbol_info(pos.symbol)
        if info is not None:
            # Never closer to price than the broker allows; then round to its digits.
            limit = price - sign * max(info.stops_level, info.point)
            if (best - limit) * sign > 0:
                best = limit
            best = round(best, info.digits)
        current = pos.stop_loss
        if current is not None and (best - current) * sign <= step:
            return None  # stops only tighten (and a trailing stop by a real step)
        if (price - best) * sign <= 0:
            return None
        return kind, best

    async def _partial(self, host: HostView, managed: Managed, pos: Trade, gain_r: float) -> None:
        info = host.broker.symbol_info(pos.symbol)
        step = info.volume_step if info else 0.01
        vmin = info.volume_min if info else step
        volume = math.floor(pos.volume * self.settings.partial_fraction / step + 1e-9) * step
        volume = round(volume, 8)
        if volume < vmin - 1e-12 or pos.volume - volume < vmin - 1e-12:
            managed.partial_done = True  # too small to split: never will be, and said so
            self._too_small(host, pos, volume, step, vmin)
            return
        params = {"volume": volume}
        why = f"{gain_r:+.2f}R"
        if await self._act(host, managed, pos.ticket, ActionKind.PARTIAL_CLOSE, params, why):
            managed.partial_done = True

    def _too_small(
        self, host: HostView, pos: Trade, volume: float, step: float, vmin: float
    ) -> None:
        """Count a partial close the minimum volume forbids; the first is logged."""
        fraction = self.settings.partial_fraction
        self._too_small_why = too_small_words(
            pos.ticket, pos.symbol, fraction, pos.volume, volume, step, vmin
        )
        if not self.partial_too_small:
            host.log.info(
                "exits: partial close not sent, %s; later ones are counted in the run report",
                self._too_small_why,
            )
        self.partial_too_small += 1

    async def _act(
        self,
        host: HostView,
        managed: Managed,
        ticket: int,
        kind: ActionKind,
        params: dict[str, float],
        why: str,
    ) -> bool:
        managed.seq += 1
        action = Action(
            ticket=ticket,
            kind=kind,
            params=params,
            reason=f"exits: {kind.value} at {why}",
            key=f"{PLUGIN_NAME}:{ticket}:{managed.seq}:{kind.value}",
            source=PLUGIN_NAME,
        )
        result = await host.execute(action)
        return result.ok

    def _atr(self, host: HostView, symbol: str) -> float | None:
        """ATR of the newest closed bars, computed once per symbol per new bar."""
        s = self.settings
        timeframe = s.atr_timeframe or host.timeframe
        bars = host.market.bars(symbol, timeframe, s.atr_period * 3 + 1)
        if not bars:
            return None
        last = bars[-1].time
        cached = self._atr_cache.get(symbol)
        if cached is not None and cached[0] == last:
            return cached[1]
        atr = wilder_atr(bars, s.atr_period)
        self._atr_cache[symbol] = (last, atr)
        return atr


__all__ = ["ExitManager", "ExitSettings", "wilder_atr"]  # the settings and ATR re-exported
