"""The broker, market and clock of the host's headless mode (``hostapp serve``).

A serving host trades on an account another process drives, so its market and clock come
from that account, not from a feed of its own:

Paper: the trading host (``hostapp run --live``) drives prices into the shared account
file named by ``[host.paper] account_file``; the serving host opens the same file, so it
sees the trading host's positions and quotes and its actions reach that account. The file
also keeps the closed bars the trading host fed (:class:`~hostapp.brokers.paper_market.
PaperTerminalMarket` reads them, resampled to any timeframe), so both see exactly the same
bars, whatever their data and seed. Only for a symbol the file has no bar of yet does the
serving host fall back to rebuilding the series from ``[host] data`` (and ``--seed`` /
``--days``, which must then match the trading host's: the file records the data it
was traded on, and a server on other data says so in one WARNING). Its clock is the
newest quote time in the file, so a replaying host drives the serving host's time; with
no host driving the file it stands, and :mod:`hostapp.account_clock` says so.

MT5: the terminal is the shared account; bars come from it and the clock is the wall clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from hookspecs import Bar, Broker, Clock, ConfigError, MarketView, parse_settings

from .account_clock import AccountClockWatch, last_written
from .clock import SystemClock
from .config import DEFAULT_ACCOUNT_FILE, HostConfig
from .market.feed import ReplayFeed

log = logging.getLogger("hostapp.serve")


@dataclass
class Runtime:
    """What a serving host trades on. ``close`` releases the broker connection;
    ``watch`` says when a paper account file's clock stands (None on the wall clock)."""

    broker: Broker
    market: MarketView
    clock: Clock
    close: Callable[[], None] | None = None
    watch: AccountClockWatch | None = None


class SharedPaperMarket:
    """MarketView and Clock beside a paper host sharing an account file.

    ``now()`` is the newest quote time in the account file (the close time of the last bar
    the trading host fed); bars are those of the rebuilt series closed by then. If the time
    goes back (the trading host started a new run on the same file), the replay starts over.

    The series is read up to the clock's time only when bars are asked for, not when the
    clock is read: the feed is rebuilt from its start, so a trading host a thousand days
    into it would otherwise cost the first clock reading (the server's start, before it
    answers anything) seconds of bars that :class:`PaperServerMarket` takes from the
    account file for every symbol the trading host fed. Bars are as of the clock's last
    reading either way.

    A serving host asks from two threads (its web handlers and a plugin's engine thread,
    e.g. the DTMS server's): the streamed feed reads its source and trims its windows as
    the clock moves, so one lock keeps a read from meeting an advance half done.
    """

    def __init__(
        self,
        broker: Broker,
        series: Mapping[str, Iterable[Bar]],
        base_timeframe: str,
        zone: tzinfo | None = None,
    ) -> None:
        from .data import first_time

        self._broker = broker
        self._series = series  # streamed builtin data: read as the clock reaches it
        self._base = base_timeframe
        self._zone = zone  # the data's clock, which coarser bars are built on
        self._feed = ReplayFeed(series, base_timeframe=base_timeframe, zone=zone)
        self._start = min(t for bars in series.values() if (t := first_time(bars)) is not None)
        self._lock = threading.Lock()
        self._now: datetime | None = None  # the clock's last reading; the feed catches up

    def now(self) -> datetime:
        # the quotes under the lock too: a reading kept after another thread's newer one
        # would look like the time going back
        with self._lock:
            times = [q.time for s in self._series if (q := self._broker.quote(s)) is not None]
            now = max(times) if times else self._start
            if self._now is not None and now < self._now:
                log.warning("the shared account's time went back to %s: replaying anew", now)
                self._feed = ReplayFeed(self._series, base_timeframe=self._base, zone=self._zone)
            self._now = now
        return now

    @property
    def base_timeframe(self) -> str:
        return self._base

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        if symbol not in self._series:
            return []
        with self._lock:
            if self._now is not None:
                self._feed.advance(self._now)
            return self._feed.bars(symbol, timeframe, count)


class PaperServerMarket:
    """The serving host's MarketView and Clock on a paper account file: the file's bars
    (what the trading host fed) for every symbol that has any, else the rebuilt series.
    A :class:`hookspecs.StandingClock`: while no trading host moves the file's clock, its
    ``watch`` has words for it, which a plugin's status pages show."""

    def __init__(
        self, terminal: Any, fallback: SharedPaperMarket, watch: AccountClockWatch | None = None
    ) -> None:
        self._terminal = terminal
        self._fallback = fallback
        self._from_file: set[str] = set()  # once a symbol has bars in the file, it keeps them
        self.watch = watch

    def now(self) -> datetime:
        return self._fallback.now()

    def standing(self) -> str | None:
        return self.watch.standing() if self.watch is not None else None

    @property
    def base_timeframe(self) -> str:
        """The account file's bars (the trading host's data) when it wrote any, else the
        rebuilt series'; both come from the same ``[host] data``."""
        return str(self._terminal.base_timeframe)

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        if symbol in self._from_file or self._terminal.has_bars(symbol):
            self._from_file.add(symbol)
            return self._terminal.bars(symbol, timeframe, count)
        return self._fallback.bars(symbol, timeframe, count)


def _paper_runtime(config: HostConfig, *, seed: int, days: float | None) -> Runtime:
    from .brokers.paper import PaperBroker, PaperSettings
    from .brokers.paper_market import PaperTerminalMarket
    from .brokers.paper_symbols import parse_paper_symbols
    from .data import bar_zone, streamed_config_series
    from .symbol_rules import symbol_infos

    where = f"{config.source} [host.paper]"
    # left out, the file a live host trades on by default (README): the two meet there
    table = {"account_file": DEFAULT_ACCOUNT_FILE, **config.host.paper}
    paper = parse_settings(PaperSettings, table, where)
    if not paper.account_file.strip():
        raise ConfigError(
            f"{where}: key 'account_file' is required for serve with the paper broker"
            " (the serving host trades on the account file the trading host drives; leave"
            f" the key out for {DEFAULT_ACCOUNT_FILE}, a live host's default)"
        )
    series, base = streamed_config_series(config, days=days, seed=seed)
    written = last_written(paper.account_file)  # before this host opens it
    _check_traded_on(config, paper.account_file, series, base, seed)
    told = parse_paper_symbols(config.host.paper.get("symbols"), config.source)
    broker = PaperBroker(
        symbols=symbol_infos(series, told), settings=paper, timeframe=base, spreads=told.spreads()
    )
    zone = bar_zone(config)
    terminal = PaperTerminalMarket(paper.account_file, base, zone=zone)
    quoted = any(broker.quote(symbol) is not None for symbol in series)
    watch = AccountClockWatch(paper.account_file, written=written, quoted=quoted)
    market = PaperServerMarket(terminal, SharedPaperMarket(broker, series, base, zone), watch)

    def close() -> None:
        terminal.close()
        broker.release()

    return Runtime(broker=broker, market=market, clock=market, close=close, watch=watch)


def _check_traded_on(
    config: HostConfig, account: str, series: Mapping[str, Iterable[Bar]], base: str, seed: int
) -> None:
    """One WARNING when the account file was traded on other data than this server's
    (:mod:`hostapp.account_data`): its bars come from the file whatever the data, but a
    symbol the file has no bar of yet is rebuilt from this server's own, which would
    then not be the prices the account trades at. Not refused: the server drives none."""
    from .account_data import data_record, describe, difference, read_record

    kept = read_record(account)
    if kept is None:
        return
    differs = difference(kept, data_record(config, series, base, seed), series)
    if differs is not None:
        log.warning(
            "%s [host.paper] account_file %s was traded on %s; %s (its bars come from the "
            "file, but those of a symbol it has none of yet would come from this server's "
            "data)",
            config.source, account, describe(kept), differs,
        )  # fmt: skip


def _mt5_runtime(config: HostConfig) -> Runtime:
    from .brokers.mt5 import create_mt5_broker
    from .brokers.mt5_market import Mt5Market
    from .brokers.mt5_settings import Mt5Settings

    mt5 = parse_settings(Mt5Settings, config.host.mt5, f"{config.source} [host.mt5]")
    broker = create_mt5_broker(mt5, symbols=config.host.symbols)
    return Runtime(
        broker=broker, market=Mt5Market(broker), clock=SystemClock(), close=broker.close_connection
    )


def build_runtime(config: HostConfig, *, seed: int = 0, days: float | None = None) -> Runtime:
    """The broker, market and clock ``config`` describes for a serving host. Raises
    ConfigError for configuration problems and BrokerError when MT5 cannot connect."""
    if config.host.broker == "mt5":
        return _mt5_runtime(config)
    return _paper_runtime(config, seed=seed, days=days)
