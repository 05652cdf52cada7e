"""A moving-average cross strategy: the example hostapp plugin to copy.

It shows the whole shape of a plugin in one module:

* the entry point ``sma_strategy = "sma_strategy.plugin"`` (group ``hostapp``) makes this
  module the plugin; its ``@hookimpl`` functions are the hooks;
* settings come from ``[plugin.sma_strategy]`` in plugins.toml, checked in ``configure``
  with :func:`hookspecs.parse_settings` so a typo stops the host with a clear message;
* hooks take only the arguments they need, never with default values;
* ``run_report`` tells the run's summary what it did, and in a ``note`` why it did
  nothing when it did nothing.

Settings (all optional)::

    [plugin.sma_strategy]
    fast = 10          # fast moving-average period, in bars
    slow = 30          # slow period; must be greater than fast
    sizing = "risk"    # "risk": lots that lose risk_per_trade of the balance at the stop;
                       # "fixed": always `volume` lots
    risk_per_trade = 0.01
    volume = 0.01      # lots per order with sizing = "fixed"
    atr_period = 14
    sl_atr = 1.5       # stop-loss distance in ATRs
    tp_atr = 3.0       # take-profit distance in ATRs

A stop is never closer to the price than the broker accepts: when ``sl_atr`` ATRs are
less than the symbol's stops level plus the spread (quiet M1 bars), the stop is moved
out to that, the target with it in the same ratio, and the report counts such orders
(``orders_widened``).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hookspecs import (
    Bar,
    Broker,
    Direction,
    HostView,
    OrderRequest,
    ProfitCalculator,
    SimBroker,
    SymbolInfo,
    Trade,
    hookimpl,
    parse_settings,
)

NAME = "sma_strategy"
COMMENT = "sma "  # prefix of our orders' comments, to recognise our trades
log = logging.getLogger(NAME)


@dataclass(frozen=True)
class Settings:
    fast: int = 10
    slow: int = 30
    sizing: Literal["risk", "fixed"] = "risk"
    risk_per_trade: float = 0.01
    volume: float = 0.01
    atr_period: int = 14
    sl_atr: float = 1.5
    tp_atr: float = 3.0

    def __post_init__(self) -> None:
        """One check per key, so the error names the one key to fix (parse_settings puts
        the file and the table in front)."""
        if self.fast < 1:
            raise ValueError(f"key 'fast': expected an integer >= 1, got {self.fast}")
        if self.slow <= self.fast:
            raise ValueError(f"key 'slow': expected more than fast ({self.fast}), got {self.slow}")
        for key in ("volume", "atr_period", "sl_atr", "tp_atr"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):  # NaN too; inf: no finite stop
                raise ValueError(f"key {key!r}: expected a finite number > 0, got {value}")
        if not 0 < self.risk_per_trade <= 0.1:
            raise ValueError(
                f"key 'risk_per_trade': expected a share in (0, 0.1], got {self.risk_per_trade}"
            )


settings = Settings()


@dataclass
class Activity:
    """What the run asked of the strategy, for its report: a run without a single order
    says why (too few bars, or no cross) instead of leaving an empty table to guess at."""

    calls: int = 0
    short: int = 0  # calls with fewer bars than the averages and the ATR need
    most_bars: int = 0
    orders: int = 0
    crosses: int = 0  # bars whose averages crossed: an order, unless one of the two below
    flat: int = 0  # crosses on bars without range (ATR 0): no stop distance to size on
    below_zero: int = 0  # crosses whose stop or target fell at or below zero
    over_risk: int = 0  # risk-sized orders the minimum lot made risk more than asked
    worst_risk: float = 0.0  # the largest share of the balance one of them risked
    #: by symbol, each order the symbol's maximum lot made risk less than asked, as the
    #: share of the risk asked it did risk (a stock guessed at 100 lots of one share)
    capped: dict[str, list[float]] = field(default_factory=dict)
    capped_at: dict[str, float] = field(default_factory=dict)  # that maximum, by symbol
    paper: bool = False  # the broker is a simulated one (hookspecs.SimBroker)
    widened: int = 0  # orders whose ATR stop was inside the stops level plus the spread


activity = Activity()


@hookimpl
def configure(host: HostView) -> None:
    global settings, activity
    settings = parse_settings(Settings, host.config_for(NAME), f"[plugin.{NAME}]")
    activity = Activity()  # one per run: a process may run several (an A/B)


def sma(values: Sequence[float], period: int) -> float:
    return sum(values[-period:]) / period


def atr(bars: Sequence[Bar], period: int) -> float:
    """Average true range of the last ``period`` bars (simple average, good enough here):
    ``max(high, previous close) − min(low, previous close)``, summed oldest first. One
    plain loop, as it runs on every bar of a replay."""
    if len(bars) <= period:
        raise ValueError(f"atr needs {period + 1} bars, got {len(bars)}")
    prev = bars[-period - 1].close
    total = 0.0
    for b in bars[-period:]:
        high, low = b.high, b.low
        total += (high if high > prev else prev) - (low if low < prev else prev)
        prev = b.close
    return total / period


def signal(closes: Sequence[float], fast: int, slow: int) -> Direction | None:
    """``"buy"`` when the fast average just crossed above the slow one, ``"sell"`` when it
    just crossed below, else None. Needs ``slow + 1`` closes."""
    if len(closes) < slow + 1:
        return None
    before = sma(closes[:-1], fast) - sma(closes[:-1], slow)
    now = sma(closes, fast) - sma(closes, slow)
    if before <= 0 < now:
        return "buy"
    if before >= 0 > now:
        return "sell"
    return None


def entry_price(broker: Broker, symbol: str, direction: Direction, bar: Bar) -> float:
    """Where a market order fills, which is where its stop, target and size are measured
    from: a buy at the ask, a sell at the bid. A bar's close is the bid, so measuring a
    buy from it would put the stop a spread further off than ``sl_atr`` says and risk
    more than ``risk_per_trade``. The broker's quote gives both sides; without one, the
    ask is the close plus the bar's spread."""
    quote = broker.quote(symbol)
    if quote is not None:
        return quote.ask if direction == "buy" else quote.bid
    return bar.close + bar.spread if direction == "buy" else bar.close


def closest_stop(broker: Broker, symbol: str, bar: Bar, info: SymbolInfo | None) -> float:
    """The least distance from the fill a stop may sit at: the broker refuses a stop
    closer to the price it closes at than the symbol's stops level, and that price is a
    spread away from the fill (a buy fills at the ask, its stop is hit at the bid). One
    point more keeps the rounding of prices to the symbol's digits from taking it back
    inside. On quiet bars (M1 at night) the ATR stop falls inside it: widened, the order
    stands, sized on the wider stop, and its target keeps the ``tp_atr / sl_atr`` ratio."""
    if info is None or info.stops_level <= 0:
        return 0.0
    quote = broker.quote(symbol)
    spread = quote.ask - quote.bid if quote is not None else bar.spread
    return info.stops_level + max(spread, 0.0) + info.point


def loss_per_lot(
    broker: Broker, symbol: str, direction: Direction, price: float, stop: float, info: SymbolInfo
) -> float:
    """What one lot opened at ``price`` loses at ``stop``, in the account's currency: the
    broker's answer when it can give one (a move in ``USDJPY`` is in yen, which only the
    broker can convert: :class:`hookspecs.ProfitCalculator`), else the move times the
    contract size, which is right when the symbol's prices are in the account's
    currency. The broker answers in cents: a lot that loses less than one unit at the
    stop (a share a few tenths of a cent from it, in a stock's cheap early years) is
    asked again for the most lots the symbol trades, the answer divided. Asked for one
    lot only, such a share lost 0.00 (sized at the minimum lot) or 0.01 (sized on up to
    twice its loss)."""
    if isinstance(broker, ProfitCalculator):
        profit = broker.calc_profit(symbol, direction, 1.0, price, stop)
        lots = info.volume_max
        if profit is not None and abs(profit) < 1.0 and lots > 1.0:
            more = broker.calc_profit(symbol, direction, lots, price, stop)
            profit = more / lots if more is not None else profit
        if profit is not None:
            return -profit
    return abs(price - stop) * info.contract_size


def risk_volume(balance: float, per_lot: float, info: SymbolInfo, risk: float) -> float:
    """Lots that lose ``risk`` of ``balance`` if the stop is hit, ``per_lot`` being what
    one lot loses there: floored to the volume step, within the symbol's limits (at least
    the minimum lot, so a small account still trades, at more than ``risk``)."""
    if per_lot <= 0 or balance <= 0:
        return info.volume_min
    lots = math.floor(balance * risk / per_lot / info.volume_step + 1e-9) * info.volume_step
    return round(min(max(lots, info.volume_min), info.volume_max), 8)


@hookimpl
def propose_orders(host: HostView, symbol: str, bars: Sequence[Bar]) -> list[OrderRequest]:
    s = settings
    seen = activity
    seen.calls += 1
    if len(bars) < max(s.slow, s.atr_period) + 1:
        seen.short += 1
        seen.most_bars = max(seen.most_bars, len(bars))
        return []
    # the cross reads only the last ``slow + 1`` closes: copy those, not the whole lookback
    direction = signal([b.close for b in bars[-(s.slow + 1) :]], s.fast, s.slow)
    if direction is None:
        return []  # most bars: no cross, and the ATR is not needed
    seen.crosses += 1
    distance = atr(bars, s.atr_period)
    if distance <= 0:
        seen.flat += 1
        return []
    price = entry_price(host.broker, symbol, direction, bars[-1])
    info = host.broker.symbol_info(symbol)
    sign = 1 if direction == "buy" else -1
    stop_distance = s.sl_atr * distance
    closest = closest_stop(host.broker, symbol, bars[-1], info)
    widened = stop_distance < closest
    stop_distance = max(stop_distance, closest)
    stop_loss = price - sign * stop_distance
    take_profit = price + sign * stop_distance * s.tp_atr / s.sl_atr
    if stop_loss <= 0 or take_profit <= 0:  # a bad tick's ATR, or a huge sl_atr
        seen.below_zero += 1
        return []
    volume = s.volume
    if info is not None and s.sizing == "risk":
        per_lot = loss_per_lot(host.broker, symbol, direction, price, stop_loss, info)
        balance = host.broker.account().balance
        volume = risk_volume(balance, per_lot, info, s.risk_per_trade)
        risked = volume * per_lot / balance if balance > 0 else 0.0
        if risked > s.risk_per_trade * 1.001:  # floored at the minimum lot
            seen.over_risk += 1
            seen.worst_risk = max(seen.worst_risk, risked)
        elif volume >= info.volume_max and risked < s.risk_per_trade * 0.999:
            seen.capped.setdefault(symbol, []).append(risked / s.risk_per_trade)
            seen.capped_at[symbol] = info.volume_max
            seen.paper = isinstance(host.broker, SimBroker)
    seen.orders += 1
    seen.widened += widened
    return [
        OrderRequest(
            symbol=symbol,
            direction=direction,
            volume=volume,
            stop_loss=stop_loss,
            take_profit=take_profit,
            comment=f"{COMMENT}{s.fast}/{s.slow}",
            source=NAME,
        )
    ]


@hookimpl
def on_trade_executed(host: HostView, trade: Trade) -> None:
    if not trade.comment.startswith(COMMENT):
        return  # another plugin's trade
    host.log.info(
        "%s: %s %s %.2f lots at %s (SL %s, TP %s), ticket %d",
        NAME,
        trade.direction,
        trade.symbol,
        trade.volume,
        trade.entry_price,
        trade.stop_loss,
        trade.take_profit,
        trade.ticket,
    )


def skipped_crosses(seen: Activity, s: Settings) -> str:
    """Why crosses gave no order, in words: a stop or target at or below zero (``sl_atr``
    ATRs more than the price) or bars without range, never "no cross" when they did."""
    why = []
    if seen.below_zero:
        why.append(
            f"{seen.below_zero:,} whose stop ({s.sl_atr:g} ATRs) or target ({s.tp_atr:g} "
            "ATRs) fell at or below zero (lower sl_atr or tp_atr)"
        )
    if seen.flat:
        why.append(f"{seen.flat:,} on bars without range (ATR({s.atr_period}) = 0)")
    return (
        f"the {s.fast}/{s.slow} averages crossed {seen.crosses:,} times, and "
        f"{seen.flat + seen.below_zero:,} of those crosses gave no order: " + "; ".join(why)
    )


@hookimpl
def run_report() -> dict[str, Any]:
    """The orders proposed; when there were none, why, in one sentence for the summary."""
    seen, s = activity, settings
    out: dict[str, Any] = {"orders": seen.orders}
    need = max(s.slow, s.atr_period) + 1
    if seen.calls == 0:  # never asked (a replay that scripts the entries): nothing to say
        return out
    if seen.orders == 0 and seen.calls == seen.short:
        out["note"] = (
            f"no order: the {s.fast}/{s.slow} cross and ATR({s.atr_period}) need {need} bars "
            f"of a symbol, and the run had at most {seen.most_bars}"
        )
    elif seen.orders == 0 and seen.crosses == 0:
        out["note"] = (
            f"no order: the {s.fast}/{s.slow} averages never crossed in "
            f"{seen.calls - seen.short:,} bars with enough history"
        )
    elif seen.orders == 0:
        out["note"] = f"no order: {skipped_crosses(seen, s)}"
    elif seen.flat or seen.below_zero:
        out["note"] = f"{seen.orders:,} orders; {skipped_crosses(seen, s)}"
    if seen.flat or seen.below_zero:
        out["crosses_skipped"] = seen.flat + seen.below_zero
    if seen.widened:
        out["orders_widened"] = seen.widened
    if seen.over_risk:
        over = (
            f"{seen.over_risk:,} of {seen.orders:,} orders risked more than the "
            f"{s.risk_per_trade * 100:g} % asked, up to {seen.worst_risk * 100:.1f} %: the "
            "symbol's minimum lot loses more than that at the stop (a small account, or "
            "a lot the host guessed for an unknown symbol)"
        )
        # after the crosses that gave no order, if some did: both are said
        out["note"] = f"{over}; {out['note']}" if "note" in out else over
        out["orders_over_risk"] = seen.over_risk
    if seen.capped:
        under = capped_note(seen, s)
        out["note"] = f"{out['note']}; {under}" if "note" in out else under
        out["orders_capped"] = sum(len(shares) for shares in seen.capped.values())
    return out


def capped_note(seen: Activity, s: Settings) -> str:
    """The risk-sized orders the symbol's maximum lot cut short, by symbol, with the
    median and the least share of the risk asked they took: a stock the host guessed at
    at most 100 lots of one share risked cents a trade once its price fell, and its
    P&L read as the strategy's while most orders were a fraction of their size."""
    n = sum(len(shares) for shares in seen.capped.values())
    each = []
    for symbol, shares in sorted(seen.capped.items()):
        least = min(shares)
        each.append(
            f"{symbol} {len(shares):,} at its {seen.capped_at[symbol]:,g} lots, a median "
            f"{_percent(statistics.median(shares))} of the risk asked, the least {_percent(least)}"
        )
    if seen.paper:
        tables = "; ".join(
            f"volume_max in a [host.paper.symbols.{_table_name(name)}] table"
            for name in sorted(seen.capped)
        )
        fix = f"raise the maximum ({tables} of plugins.toml)"
    else:
        fix = "that maximum is the broker's own"
    return (
        f"{n:,} of {seen.orders:,} orders risked less than the {s.risk_per_trade * 100:g} % "
        f"asked: the symbol's maximum lot capped them ({'; '.join(each)}); {fix}"
    )


def _table_name(symbol: str) -> str:
    """``symbol`` as a TOML table names it: quoted unless a bare key (``"US500.cash"``)."""
    bare = symbol.replace("_", "").replace("-", "")
    return symbol if bare.isascii() and bare.isalnum() else f'"{symbol}"'


def _percent(share: float) -> str:
    """A share as a percent: one decimal from 1 %, two significant digits under it."""
    value = share * 100
    return f"{value:.1f} %" if value >= 1 else f"{value:.2g} %"
