"""The local strategy's edges to the host's market and broker: new closed bars fed once to
each symbol's indicators, stale data noticed once per episode, symbol rules cached, quotes,
positions and the account read (a read that fails is said once per episode). Split from
:mod:`dtms_plugin.local` so each file reads on its own; :class:`MarketEdges` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hookspecs import (
    Bar,
    BrokerError,
    HostView,
    Quote,
    SeriesView,
    SymbolInfo,
    Timeframe,
    Trade,
)

from .engine import AccountState, SignalSnapshot, SymbolIndicators
from .local_reconcile import RECOVERY_READS
from .settings import DtmsSettings

if TYPE_CHECKING:  # numpy's, imported only by a replay (dtms_plugin.engine says why)
    from .engine import Indicators, ReplayIndicators


#: the broker reads a cycle needs (:meth:`MarketEdges.broker_problems`)
CYCLE_READS = frozenset({"positions", "account", RECOVERY_READS})
#: how far back before the warm-up the fast bars are read at first sight, for their gaps
#: alone: a week and a day holds every time of the week the market closes at
GAPS_LEARNED = timedelta(days=8)


class MarketEdges:
    settings: DtmsSettings
    log: logging.Logger
    indicators: dict[str, Indicators]
    problems: dict[str, int]
    _infos: dict[str, SymbolInfo]
    _stale: set[str]
    _closed_said: set[str]  # symbols whose market's closure was said (once an episode)
    _bar_failures: dict[str, int]
    _rules_missing: dict[str, int]
    #: broker read ("positions", "account") -> cycles it has failed in the current episode
    _read_failures: dict[str, int]
    _read_errors: dict[str, str]  # broker read -> its last error, while it fails

    if TYPE_CHECKING:  # the strategy's own (local_waiting)

        def held_problems(self) -> list[str]: ...

    _account: AccountState
    _fast: timedelta
    _signal: timedelta

    if TYPE_CHECKING:  # the strategy's own (dtms_plugin.local_answers)

        def _refresh_account(self, host: HostView) -> None: ...

        def _account_mode_for(self, host: HostView, hedging: bool) -> None: ...

    def _read_positions(self, host: HostView) -> list[Trade] | None:
        """The broker's open positions for this cycle; ``None`` when it cannot answer:
        then no trade is found gone this cycle (an error is never "no positions")."""
        try:
            positions = host.broker.positions()
        except BrokerError as exc:
            self._read_failed("positions", exc, "no trade is checked for a position gone")
            return None
        self._read_back("positions")
        return positions

    def _read_account(self, host: HostView) -> None:
        """The account for this cycle (hedging or netting, defensive mode). When the
        broker cannot answer, the margin mode last read stands and the defensive mode is
        still the store's: the trades are evaluated all the same."""
        try:
            self._refresh_account(host)
        except BrokerError as exc:
            self._read_failed("account", exc, "trades are evaluated with the margin mode last read")
            self._account_mode_for(host, self._account.hedging)
            return
        self._read_back("account")

    def _read_failed(
        self, what: str, exc: BrokerError, meanwhile: str, *, level: int = logging.WARNING
    ) -> None:
        """A broker read failed: said at ``level`` on the first cycle of the episode, with
        what the cycle does without it; counted (at DEBUG) while it lasts."""
        failures = self._read_failures.get(what, 0) + 1
        self._read_failures[what] = failures
        self._read_errors[what] = str(exc)
        if failures == 1:
            self.log.log(
                level,
                "DTMS: the broker cannot give its %s (%s); %s (said again when it does)",
                what, exc, meanwhile,
            )  # fmt: skip
        else:
            self.log.debug("DTMS: the broker still cannot give its %s: %s", what, exc)

    def _read_back(self, what: str, unit: str = "cycle") -> None:
        """A broker read answered: the end of its failure episode, if one ran, said with
        how many failed (``unit``: what one failure was, a cycle's read or a trade's)."""
        failed = self._read_failures.pop(what, 0)
        self._read_errors.pop(what, None)
        if failed:
            count = f"1 failed {unit}" if failed == 1 else f"{failed} failed {unit}s"
            self.log.warning("DTMS: the broker gives its %s again, after %s", what, count)

    def broker_problems(self) -> list[str]:
        """The broker reads every cycle needs that fail now (its positions, its account,
        the start-up recovery's), for ``dtms serve``'s ``/health``: a cycle that works
        without them is not healthy, from its first failure (a read made per trade, a
        closed position's, is left out: it may not be asked again for a long time)."""
        failing = dict(self._read_failures)  # one copy: another thread reads it
        errors = dict(self._read_errors)
        return [
            f"the broker cannot give its {what} ({count} failed cycles in a row): "
            f"{errors.get(what, 'no answer')}"
            for what, count in failing.items()
            if what in CYCLE_READS
        ] + self.held_problems()  # actions held while it cannot list its waiting orders

    def _bars(self, host: HostView, symbol: str, now: datetime) -> Indicators | None:
        """Feed the symbol's new closed bars (warm-up on first sight); never twice.

        A market that knows the whole series (:class:`hookspecs.SeriesView`, a replay)
        gets :class:`ReplayIndicators`, computed ahead and counted as fed by the same
        rules; a live market the incremental :class:`SymbolIndicators`."""
        ind = self.indicators.get(symbol)
        s = self.settings
        try:
            if ind is None:
                ahead = _replay_indicators(host.market, symbol, s)
                ind = ahead if ahead is not None else SymbolIndicators(symbol, s)
                self.indicators[symbol] = ind
            if isinstance(ind, SymbolIndicators):
                self._feed(host, ind, symbol, now)
            else:
                ind.advance(now)
        except Exception as exc:  # a data source failing must not stop the other symbols
            failures = self._bar_failures.get(symbol, 0) + 1
            self._bar_failures[symbol] = failures
            reason = f"bars for {symbol} unavailable: {exc}"
            self.problems[reason] = self.problems.get(reason, 0) + 1
            if failures == 1:
                self.log.error("DTMS: %s (logged once until they are back)", reason)
            return ind
        failed = self._bar_failures.pop(symbol, 0)
        if failed:
            self.log.warning("DTMS: bars for %s are back after %d failed cycles", symbol, failed)
        return ind

    def _feed(self, host: HostView, ind: SymbolIndicators, symbol: str, now: datetime) -> None:
        """The live path: ask the market for the bars closed since the last one fed (at
        most ``warmup_bars``: after a longer quiet spell the rest are skipped). At first
        sight the fast bars of the week before the warm-up are asked too, for their gaps
        alone: the market's closures at each time of the week (docs/dtms.md §7)."""
        s = self.settings
        warmup = s.indicators.warmup_bars
        for tf, period, last, feed in (
            (s.signal.value, self._signal, ind.last_signal_time, ind.feed_signal),
            (
                s.fast.value,
                self._fast,
                ind.last_fast_bar.time if ind.last_fast_bar else None,
                ind.feed_fast,
            ),
        ):
            count = warmup if last is None else min(warmup, int((now - last) / period) + 2)
            bars: Sequence[Bar] = ()
            if last is None and tf == s.fast.value:
                bars = self._gaps_before(host, ind, symbol, tf, count + int(GAPS_LEARNED / period))
            if len(bars) < count:  # no deeper read, or one that gave less: as ever
                bars = host.market.bars(symbol, tf, count)
            for bar in bars[-count:]:
                if last is None or bar.time > last:
                    feed(bar)

    def _gaps_before(
        self, host: HostView, ind: SymbolIndicators, symbol: str, tf: str, count: int
    ) -> Sequence[Bar]:
        """At a symbol's first sight, the fast bars of the week before the warm-up, read
        for their gaps alone (the market's closures, docs/dtms.md §7) and fed so, oldest
        first; the bars read, whose newest are the warm-up's. Best effort: a market that
        cannot give that many (a terminal's "Max bars in chart") gives none here, and
        the warm-up is read on its own, as it always was."""
        try:
            bars = host.market.bars(symbol, tf, count)
        except Exception:  # the warm-up's own read says what fails
            return ()
        warmup = self.settings.indicators.warmup_bars
        for bar in bars[:-warmup]:
            ind.feed_gap_only(bar)
        return bars

    def _note_stale(
        self, host: HostView, symbol: str, snap: SignalSnapshot | None, now: datetime
    ) -> str | None:
        """docs/dtms.md §7: stale data is logged, once per symbol per stale episode. The
        fast bar counts as stale only when the market's finest bars stopped too. Returns
        why the symbol's trades wait, when its bars are stale."""
        if snap is not None and snap.is_stale(now):
            self._base_close(host, symbol, snap)
        if snap is None or not snap.is_stale(now):
            self._stale.discard(symbol)
            self._closed_said.discard(symbol)
            return None
        closed = self._closure(symbol, snap, now)
        if closed is not None:
            return closed
        why = f"{symbol} bars stale"
        self.problems[why] = self.problems.get(why, 0) + 1
        if symbol not in self._stale:
            self._stale.add(symbol)
            self.log.warning(
                "DTMS: %s bars are stale (newest %s bar closed %s); its trades are not "
                "evaluated until fresh bars arrive",
                symbol,
                self.settings.fast.value,
                snap.fast_close_time.isoformat(),
            )
        return f"{why} (newest {self.settings.fast.value} bar closed {snap.fast_close_time})"

    def _closure(self, symbol: str, snap: SignalSnapshot, now: datetime) -> str | None:
        """Why ``symbol``'s trades wait while its market is closed as it was at this time
        of the week in an earlier week (a weekend, a daily break: docs/dtms.md §7): said
        once, at INFO, with when its bars are expected again; ``None`` when no earlier week
        closed then, or once that closure's length has passed (a feed that stopped for
        good is stale, said as such)."""
        end = snap.closure_end()
        if end is None or now > end + snap.fast_period * self.settings.rails.stale_bar_periods:
            return None
        why = f"{symbol} market closed"
        self.problems[why] = self.problems.get(why, 0) + 1
        if symbol not in self._closed_said:
            self._closed_said.add(symbol)
            self.log.info(
                "DTMS: %s market closed, as at this time of the week before (newest %s bar "
                "closed %s, bars expected again about %s); its trades are not evaluated "
                "until then",
                symbol,
                self.settings.fast.value,
                snap.fast_close_time.isoformat(),
                end.isoformat(),
            )
        return f"{why} (until about {end})"

    def _base_close(self, host: HostView, symbol: str, snap: SignalSnapshot) -> None:
        """Tell ``snap`` when the market's newest bar on its base timeframe closed, when
        that is finer than the fast one: after a weekend, base bars arrive while the
        first fast bar of the week is still forming, and the data is not stale then."""
        market = host.market
        try:
            base = Timeframe.parse(market.base_timeframe)
            if base.seconds >= self.settings.fast.seconds:
                return
            newest = market.bars(symbol, base.value, 1)
        except Exception:  # a failing market is said where bars are fed (``_bars``)
            return
        if newest:
            snap.saw_data(newest[-1].time + base.period)

    def _info(self, host: HostView, symbol: str) -> SymbolInfo | None:
        info = self._infos.get(symbol)
        if info is None:
            try:
                info = host.broker.symbol_info(symbol)
            except BrokerError as exc:
                self.log.error("DTMS: symbol_info(%s) failed: %s", symbol, exc)
                return None
            if info is not None:
                self._infos[symbol] = info
        return info

    def _no_rules(self, symbol: str) -> str:
        """The broker has no rules for ``symbol`` (its trades wait): an ERROR on the first
        cycle of the episode, counted after it (a problem that repeats each cycle is
        logged once per episode with a count, docs/dtms.md §7). Returns why they wait."""
        missed = self._rules_missing.get(symbol, 0) + 1
        self._rules_missing[symbol] = missed
        why = f"no symbol rules for {symbol}"
        self.problems[why] = self.problems.get(why, 0) + 1
        if missed == 1:
            self.log.error(
                "DTMS: no symbol rules for %s; its trades wait (said again when they are back)",
                symbol,
            )
        return why

    def _rules_back(self, symbol: str, how: str) -> None:
        """The end of ``symbol``'s episode without rules, if one ran, with its count."""
        missed = self._rules_missing.pop(symbol, 0)
        if missed:
            cycles = "1 cycle" if missed == 1 else f"{missed} cycles"
            self.log.warning(
                "DTMS: the symbol rules for %s %s, after %s without them", symbol, how, cycles
            )

    def _quote(self, host: HostView, symbol: str) -> Quote | None:
        try:
            return host.broker.quote(symbol)
        except BrokerError as exc:
            self.log.warning("DTMS: no quote for %s: %s", symbol, exc)
            return None

    def _position(self, host: HostView, ticket: int) -> Trade | None:
        try:
            return host.broker.position(ticket)
        except BrokerError:
            return None


def _replay_indicators(market: object, symbol: str, s: DtmsSettings) -> ReplayIndicators | None:
    """Indicators computed ahead when the market holds the symbol's whole series on both
    timeframes (a replay, or a live run on a file: they learn the market's closures from
    the bars before the one asked about, as the incremental path does, docs/dtms.md §7);
    ``None`` sends the caller to the incremental path."""
    if not isinstance(market, SeriesView):
        return None
    fast = market.series(symbol, s.fast.value)
    signal = market.series(symbol, s.signal.value)
    if fast is None or signal is None:
        return None
    from .engine.replay import ReplayIndicators

    return ReplayIndicators(
        symbol,
        s,
        fast[0],
        list(fast[1]),
        signal[0],
        list(signal[1]),
        gaps_learned=GAPS_LEARNED,
    )
