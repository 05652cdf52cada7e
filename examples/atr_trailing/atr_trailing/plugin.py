"""The Chandelier exit: the plain trailing stop a trader already knows.

For a buy the stop sits at the highest high of the last ``period`` closed bars minus
``multiple`` × ATR(``period``); for a sell at the lowest low plus ``multiple`` × ATR. It is
moved on a position's first cycle, then once per closed bar of its timeframe (counted per
position: one opened beside another of its symbol is trailed at once, as one opened
alone), only ever tighter, never closer to the price than the broker allows, and rounded
to the symbol's digits. The ATR is the mean true range of the same ``period`` bars
(Wilder's smoothing would need a longer history for the same window; over 22 bars the
two differ little).

It is a position manager, so it works where docs/plugins.md puts position managers: in
``manage_positions``, which the host calls after every ``on_cycle`` (DTMS's included) has
finished, one manager at a time. Before it moves a stop it asks ``host.is_defensive``; a
trade under defence is its defender's, so the move is skipped and counted per ticket as
``held_defensive`` in the run report (the summary's ``exits_held_defensive``).

Positions that another manager opened on a trade's behalf (comments ``DTMS_HEDGE_…`` and
``DTMS_READD_…``) are left alone. Every stop move is an ordinary action through
``host.execute``, so reports and other plugins see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hookspecs import (
    Action,
    ActionKind,
    Bar,
    HostView,
    Timeframe,
    Trade,
    hookimpl,
    parse_settings,
    require_buildable,
    settings_in_force,
)

NAME = "atr_trailing"
NOT_OURS = ("DTMS_HEDGE_", "DTMS_READD_")


@dataclass(frozen=True)
class Settings:
    period: int = 22
    multiple: float = 3.0
    timeframe: str = ""  # empty: the host's timeframe

    def __post_init__(self) -> None:
        if self.period < 2:
            raise ValueError(f"key 'period': expected an integer >= 2, got {self.period}")
        if not (math.isfinite(self.multiple) and self.multiple > 0):  # inf: never a stop
            raise ValueError(f"key 'multiple': expected a finite number > 0, got {self.multiple}")
        if self.timeframe:
            Timeframe.parse(self.timeframe, "key 'timeframe'")


class ChandelierExit:
    """The plugin (its entry point names the class, so every run gets a fresh one):
    settings from ``configure``, one pass per closed bar."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.timeframe = "M5"
        #: per open ticket, the bar last acted on: a position opened beside another of its
        #: symbol is trailed on its first cycle, as one opened alone is, not at the next
        #: close of a coarser timeframe than the host's
        self._last_bar: dict[int, datetime] = {}
        self.moves = 0
        #: the most bars a pass over a symbol with open positions had, and whether one had
        #: the ``period + 1`` the stop needs: a ``period`` longer than the data says so
        self.most_bars = 0
        self.had_enough = False
        #: per ticket, the bars on which it wanted to move the stop of a defended trade
        self.held_back: dict[int, int] = {}

    @hookimpl
    def configure(self, host: HostView) -> None:
        self.settings = parse_settings(Settings, host.config_for(NAME), f"[plugin.{NAME}]")
        self.timeframe = self.settings.timeframe or host.timeframe
        # here, in one line, not as a failure on every bar until the breaker trips
        require_buildable(self.timeframe, host.market.base_timeframe, f"[plugin.{NAME}] timeframe")

    @hookimpl
    async def manage_positions(self, host: HostView, now: datetime) -> None:
        """Not ``on_cycle``: there it would run beside DTMS's own ``on_cycle`` and move
        stops of trades DTMS is defending in that same cycle (docs/plugins.md)."""
        positions = [p for p in host.broker.positions() if not p.comment.startswith(NOT_OURS)]
        done = self._last_bar
        self._last_bar = {p.ticket: done[p.ticket] for p in positions if p.ticket in done}
        for symbol in {p.symbol for p in positions}:
            bars = host.market.bars(symbol, self.timeframe, self.settings.period + 1)
            self.most_bars = max(self.most_bars, len(bars))
            if len(bars) <= self.settings.period:
                continue
            self.had_enough = True
            for pos in positions:
                if pos.symbol == symbol and self._last_bar.get(pos.ticket) != bars[-1].time:
                    self._last_bar[pos.ticket] = bars[-1].time
                    await self._trail(host, pos, bars)

    @hookimpl
    def run_report(self) -> dict[str, Any]:
        held = {str(ticket): n for ticket, n in sorted(self.held_back.items())}
        out: dict[str, Any] = {
            "activity": self.moves, "stops_moved": self.moves, "held_defensive": held,
            "settings": settings_in_force(replace(self.settings, timeframe=self.timeframe)),
        }  # fmt: skip
        # why it did nothing, in words a comparison prints
        if self.most_bars and not self.had_enough:
            need = self.settings.period + 1
            out["note"] = (
                f"moved no stop: its Chandelier over {self.settings.period} bars needs {need:,} "
                f"closed {self.timeframe} bars of a symbol, and the run had at most "
                f"{self.most_bars:,} (lower period)"
            )
        elif held and not self.moves:
            out["note"] = (
                f"moved no stop: the {len(held)} trades it would have trailed were under "
                "defensive management (is_defensive), which it leaves to their defender; "
                "compare it with that plugin off, or as its baseline (--against)"
            )
        return out

    async def _trail(self, host: HostView, pos: Trade, bars: Sequence[Bar]) -> None:
        stop = chandelier_stop(pos.direction, bars, self.settings.period, self.settings.multiple)
        quote = host.broker.quote(pos.symbol)
        info = host.broker.symbol_info(pos.symbol)
        if quote is None or info is None:
            return
        sign = pos.sign
        price = quote.bid if sign > 0 else quote.ask
        limit = price - sign * max(info.stops_level, info.point)
        if (stop - limit) * sign > 0:
            stop = limit  # never closer to the price than the broker accepts
        stop = round(stop, info.digits)
        if pos.stop_loss is not None and (stop - pos.stop_loss) * sign <= 0:
            return  # only tighter
        if host.is_defensive(pos.ticket):
            # its defender decides (docs/plugins.md, manage_positions); ask again next bar
            self.held_back[pos.ticket] = self.held_back.get(pos.ticket, 0) + 1
            return
        action = Action(
            pos.ticket,
            ActionKind.TIGHTEN_SL,
            {"stop_loss": stop},
            reason=f"chandelier {self.settings.period}/{self.settings.multiple:g}",
            key=f"{NAME}:{pos.ticket}:{bars[-1].time.isoformat()}",
            source=NAME,
        )
        result = await host.execute(action)
        if result.ok:
            self.moves += 1


def chandelier_stop(direction: str, bars: Sequence[Bar], period: int, multiple: float) -> float:
    """The Chandelier stop over the last ``period`` of ``bars`` (``period + 1`` bars are
    needed: the first gives the previous close of the first true range)."""
    window = bars[-period:]
    ranges = [
        max(b.high, prev.close) - min(b.low, prev.close)
        for prev, b in zip(bars[-period - 1 : -1], window, strict=True)
    ]
    atr = sum(ranges) / period
    if direction == "buy":
        return max(b.high for b in window) - multiple * atr
    return min(b.low for b in window) + multiple * atr
