"""Building the server's broker, market and clock from plugins.toml.

This is the one module of ``dtms_plugin`` that imports ``hostapp`` (lazily, only when
``dtms serve`` starts): the server is a host of its own and needs the host's broker
adapters, exactly as the trading host builds them, to share an account with it.

Paper: the trading host (``hostapp run --live``) drives prices into the shared account
file named by ``[host.paper] account_file``; the server opens the same file, so it sees
the host's positions and quotes and its actions reach the host's account. The file also
keeps the closed bars the host fed (:class:`hostapp.brokers.paper_market.
PaperTerminalMarket` reads them, resampled to any timeframe), so the server sees exactly
the host's bars, whatever its data and seed. Only for a symbol the file has no bar of yet
does the server fall back to rebuilding the series from ``[host] data`` (and the
``--seed``/``--days`` flags, which must then match the host's). Its clock is the newest
quote time in the file, so a replaying host drives the server's time.

MT5: the terminal is the shared account; bars come from it and the clock is the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hookspecs import Bar, Broker, ConfigError, parse_settings

from .runtime import Runtime
from .settings import ServerSettings

log = logging.getLogger("dtms_plugin.server")


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SharedPaperMarket:
    """MarketView and Clock beside a paper host sharing an account file.

    ``now()`` is the newest quote time in the account file (the close time of the last bar
    the host fed); bars are those of the rebuilt series closed by then. If the time goes
    back (the host started a new run on the same file), the replay starts over.
    """

    def __init__(self, broker: Broker, series: dict[str, list[Bar]], base_timeframe: str) -> None:
        from hostapp.market.feed import ReplayFeed

        self._broker = broker
        self._series = series
        self._base = base_timeframe
        self._feed_type = ReplayFeed
        self._feed = ReplayFeed(series, base_timeframe=base_timeframe)
        self._start = min(bars[0].time for bars in series.values() if bars)

    def now(self) -> datetime:
        times = [q.time for s in self._series if (q := self._broker.quote(s)) is not None]
        now = max(times) if times else self._start
        current = self._feed.now
        if current is not None and now < current:
            log.warning("the shared account's time went back to %s: replaying anew", now)
            self._feed = self._feed_type(self._series, base_timeframe=self._base)
        self._feed.advance(now)
        return now

    @property
    def base_timeframe(self) -> str:
        return self._base

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        if symbol not in self._series:
            return []
        return self._feed.bars(symbol, timeframe, count)


class PaperServerMarket:
    """The server's MarketView and Clock on a paper account file: the file's bars
    (what the host fed) for every symbol that has any, else the rebuilt series."""

    def __init__(self, terminal: Any, fallback: SharedPaperMarket) -> None:
        self._terminal = terminal
        self._fallback = fallback
        self._from_file: set[str] = set()  # once a symbol has bars in the file, it keeps them

    def now(self) -> datetime:
        return self._fallback.now()

    @property
    def base_timeframe(self) -> str:
        """The account file's bars (the host's data) when a host wrote any, else the
        rebuilt series'; both come from the same ``[host] data``."""
        return str(self._terminal.base_timeframe)

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        if symbol in self._from_file or self._terminal.has_bars(symbol):
            self._from_file.add(symbol)
            return self._terminal.bars(symbol, timeframe, count)
        return self._fallback.bars(symbol, timeframe, count)


def _paper_runtime(settings: ServerSettings, config: Any) -> Runtime:
    from hostapp import app as appmod
    from hostapp.brokers.paper import PaperBroker, PaperSettings
    from hostapp.brokers.paper_market import PaperTerminalMarket

    where = f"{config.source} [host.paper]"
    paper = parse_settings(PaperSettings, config.host.paper, where)
    if not paper.account_file:
        raise ConfigError(
            f"{where}: key 'account_file' is required for dtms serve with the paper broker"
            " (the server must trade on the account file the host drives)"
        )
    series, base = appmod.config_series(config, days=settings.days, seed=settings.seed)
    broker = PaperBroker(symbols=appmod.symbol_infos(series), settings=paper, timeframe=base)
    terminal = PaperTerminalMarket(paper.account_file, base)
    market = PaperServerMarket(terminal, SharedPaperMarket(broker, series, base))

    def close() -> None:
        terminal.close()
        broker.release()

    return Runtime(broker=broker, market=market, clock=market, close=close)


def _mt5_runtime(config: Any) -> Runtime:
    from hostapp.brokers.mt5 import create_mt5_broker
    from hostapp.brokers.mt5_market import Mt5Market
    from hostapp.brokers.mt5_settings import Mt5Settings

    mt5 = parse_settings(Mt5Settings, config.host.mt5, f"{config.source} [host.mt5]")
    broker = create_mt5_broker(mt5, symbols=config.host.symbols)
    return Runtime(
        broker=broker, market=Mt5Market(broker), clock=WallClock(), close=broker.close_connection
    )


def build_runtime(settings: ServerSettings) -> Runtime:
    """The broker, market and clock ``settings.host_config`` describes. Raises
    ConfigError for configuration problems and BrokerError when MT5 cannot connect."""
    config = settings.host_config
    if config is None:
        raise ConfigError("dtms serve: no host configuration to build a broker from")
    if config.host.broker == "mt5":
        return _mt5_runtime(config)
    return _paper_runtime(settings, config)
