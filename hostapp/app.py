"""Assembling a host from its configuration: data, broker, market, clock, plugins, loop.

``hostapp run`` and ``hostapp replay`` (and the benchmark, and tests) all build their host
here, so a replay runs exactly what a run runs. Two kinds of host:

* simulated (:func:`build_sim_app`): a paper broker over a :class:`ReplayFeed`, on a
  :class:`SimClock` the loop moves bar by bar. Data is the seeded synthetic feed or CSV.
* live (:func:`build_live_app`, ``[host] broker = "mt5"``): MetaTrader's account and bars
  on the wall clock. The mt5 modules are imported only here, so a paper run never needs
  them.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hookspecs import Bar, Broker, ConfigError, MarketView, SymbolInfo, parse_settings

from .clock import SimClock, SystemClock
from .config import HostConfig
from .exits import ExitManager
from .host import Host
from .loader import BUILTINS, load_plugins
from .loop import TradingLoop
from .market.feed import ReplayFeed
from .market.timeframes import TIMEFRAMES, timeframe_seconds
from .pluginhost import PluginHost
from .report import RECORDER_NAME, RunRecorder

#: Where the builtin synthetic data starts: a Monday, so the sessions line up.
BUILTIN_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_DAYS = 30
log = logging.getLogger("hostapp")


@dataclass
class App:
    """Everything one run needs, wired together."""

    config: HostConfig
    broker: Broker
    market: MarketView
    clock: SimClock | SystemClock
    host: Host
    plugins: PluginHost
    recorder: RunRecorder
    loop: TradingLoop
    timeframe: str
    base_timeframe: str
    feed: ReplayFeed | None = None
    series: Mapping[str, Sequence[Bar]] = dataclasses.field(default_factory=dict)
    start_balance: float = 0.0


# -- data -----------------------------------------------------------------------------------


def infer_timeframe(bars: Sequence[Bar], where: str = "data") -> str:
    """The timeframe whose length is the most common gap between consecutive bars."""
    gaps = Counter(
        int((b.time - a.time).total_seconds()) for a, b in itertools.pairwise(bars[:2001])
    )
    by_seconds = {s: name for name, s in TIMEFRAMES.items()}
    for gap, _ in gaps.most_common():
        if gap in by_seconds:
            return by_seconds[gap]
    raise ConfigError(
        f"{where}: cannot tell the timeframe (bar gaps {sorted(gaps)[:5]}); use --timeframe"
    )


def builtin_series(
    symbols: Sequence[str], *, days: float, seed: int, timeframe: str = "M5"
) -> dict[str, list[Bar]]:
    """The seeded synthetic feed: ``days`` of ``timeframe`` bars per symbol."""
    from .market.synthetic import generate_bars

    count = int(days * 86400 // timeframe_seconds(timeframe))
    return {
        s: generate_bars(s, BUILTIN_START, count, timeframe=timeframe, seed=seed) for s in symbols
    }


def load_csv_series(files: Mapping[str, str | Path]) -> dict[str, list[Bar]]:
    """``symbol → CSV file``; raises ``CsvError`` naming file and line."""
    from .brokers.paper import DEFAULT_SYMBOLS
    from .market.csvdata import load_csv

    return {s: load_csv(p, symbol_info=DEFAULT_SYMBOLS.get(s)) for s, p in files.items()}


def config_series(
    config: HostConfig, *, days: float | None, seed: int
) -> tuple[dict[str, list[Bar]], str]:
    """The data ``[host] data`` names, and its base timeframe. ``days`` trims CSV data to
    its first N days; for builtin data it is the length (default 30)."""
    data = config.host.data
    tf = config.host.timeframe
    if days is not None and not days > 0:  # NaN too
        raise ConfigError(f"days must be more than 0, got {days}")
    if data == "builtin":
        _check_builtin_symbols(config)
        base = tf if timeframe_seconds(tf) < timeframe_seconds("M5") else "M5"
        length = DEFAULT_DAYS if days is None else days
        return builtin_series(config.host.symbols, days=length, seed=seed, timeframe=base), base
    if isinstance(data, str):
        raise ConfigError(
            f"{config.source} [host] key 'data': expected \"builtin\" or a table symbol = CSV path"
        )
    if not data:
        raise ConfigError(
            f"{config.source} [host] key 'data': the table is empty; name a CSV file per "
            f'symbol (data = {{XAUUSD = "xauusd.csv"}}) or use "builtin"'
        )
    root = config.path.parent if config.path is not None else Path()
    series = load_csv_series({s: root / p for s, p in data.items()})
    if days is not None:
        series = {s: _first_days(b, days) for s, b in series.items()}
    first = next(iter(series.values()))
    return series, infer_timeframe(first, str(next(iter(data.values()))))


def _check_builtin_symbols(config: HostConfig) -> None:
    """The builtin data has a series only for the symbols with a bundled profile: any
    other name (a typo such as ``XAUSD``) would backtest an invented series."""
    from .market.synthetic import SYMBOL_PROFILES

    unknown = [s for s in config.host.symbols if s not in SYMBOL_PROFILES]
    if unknown:
        names = ", ".join(repr(s) for s in unknown)
        raise ConfigError(
            f"{config.source} [host] key 'symbols': no builtin data for {names} "
            f"(builtin symbols: {', '.join(SYMBOL_PROFILES)}); "
            "for another symbol, give its CSV file in [host] data"
        )


def _first_days(bars: list[Bar], days: float) -> list[Bar]:
    if not bars:
        return bars
    end = bars[0].time + timedelta(days=days)
    return [b for b in bars if b.time < end]


def symbol_infos(series: Mapping[str, Sequence[Bar]]) -> dict[str, SymbolInfo]:
    """The paper broker's known symbols, plus a guess for any other symbol of the data:
    digits from the prices, FX-like lots for prices under 10, metal-like above."""
    from .brokers.paper import DEFAULT_SYMBOLS

    infos = dict(DEFAULT_SYMBOLS)
    for symbol, bars in series.items():
        if symbol in infos or not bars:
            continue
        digits = max(_decimals(b.close) for b in bars[:500])
        contract = 100_000.0 if bars[0].close < 10 else 100.0
        infos[symbol] = SymbolInfo(
            symbol, digits, 10.0**-digits, 0.01, 0.01, 100.0, contract_size=contract
        )
    return infos


def _decimals(price: float) -> int:
    text = f"{price:.8f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


# -- configuration tweaks -------------------------------------------------------------------


def with_dtms_state_dir(config: HostConfig, state_dir: Path) -> HostConfig:
    """The same config with ``[plugin.dtms] state_dir`` pointing at ``state_dir``."""
    tables = {k: dict(v) for k, v in config.plugin_tables.items()}
    tables.setdefault("dtms", {})["state_dir"] = str(state_dir)
    return dataclasses.replace(config, plugin_tables=tables)


def without_plugin(config: HostConfig, name: str) -> HostConfig:
    disabled = [*config.plugins.disabled, name] if name not in config.plugins.disabled else []
    if not disabled:
        return config
    return dataclasses.replace(
        config, plugins=dataclasses.replace(config.plugins, disabled=disabled)
    )


def with_host(config: HostConfig, **changes: Any) -> HostConfig:
    return dataclasses.replace(config, host=dataclasses.replace(config.host, **changes))


# -- assembling -----------------------------------------------------------------------------


def _plugins(
    config: HostConfig,
    builtins: Mapping[str, str | object] | None,
    entry_points: Any,
    env: Mapping[str, str] | None,
) -> tuple[PluginHost, RunRecorder]:
    plugins = load_plugins(
        config,
        builtins=BUILTINS if builtins is None else builtins,
        entry_points=entry_points,
        env=env,
    )
    recorder = RunRecorder()
    plugins.register(RECORDER_NAME, recorder)
    return plugins, recorder


def _exit_manager(plugins: PluginHost) -> ExitManager | None:
    obj = plugins.get("exits")
    return obj if isinstance(obj, ExitManager) else None


def build_sim_app(
    config: HostConfig,
    series: Mapping[str, Sequence[Bar]],
    *,
    base_timeframe: str,
    timeframe: str | None = None,
    builtins: Mapping[str, str | object] | None = None,
    entry_points: Any = None,
    env: Mapping[str, str] | None = None,
    shared_account: bool = False,
) -> App:
    """A paper host over ``series``. The paper account lives in memory unless
    ``shared_account`` (a backtest must never touch an account file others use).
    Raises ConfigError for bad settings (including a plugin's ``configure``)."""
    from .brokers.paper import PaperBroker, PaperSettings

    timeframe = timeframe or config.host.timeframe
    if not series or not any(series.values()):
        raise ConfigError("no bars to replay")
    config = with_host(config, symbols=list(series), timeframe=timeframe)
    first = min(bars[0].time for bars in series.values() if bars)
    clock = SimClock(first)
    feed = ReplayFeed(series, base_timeframe=base_timeframe)
    table = dict(config.host.paper)
    if not shared_account:
        table.pop("account_file", None)
    settings = parse_settings(PaperSettings, table, f"{config.source} [host.paper]")
    broker = PaperBroker(
        symbols=symbol_infos(series), settings=settings, clock=clock.now, timeframe=base_timeframe
    )
    return _assemble(
        config,
        broker,
        feed,
        clock,
        list(series),
        timeframe,
        base_timeframe,
        (builtins, entry_points, env),
        feed=feed,
        series=series,
    )


def build_live_app(
    config: HostConfig,
    *,
    builtins: Mapping[str, str | object] | None = None,
    entry_points: Any = None,
    env: Mapping[str, str] | None = None,
    module: object | None = None,
) -> App:
    """A MetaTrader host on the wall clock (``[host] broker = "mt5"``). ``module`` stands
    in for the MetaTrader5 package (tests pass a fake terminal)."""
    from .brokers.mt5 import Mt5Market, create_mt5_broker, load_mt5_settings

    settings = load_mt5_settings(config.host.mt5, f"{config.source} [host.mt5]")
    broker = create_mt5_broker(settings, module=module, symbols=config.host.symbols)
    market = Mt5Market(broker)
    clock = SystemClock()
    timeframe = config.host.timeframe
    return _assemble(
        config,
        broker,
        market,
        clock,
        config.host.symbols,
        timeframe,
        timeframe,
        (builtins, entry_points, env),
    )


def _assemble(
    config: HostConfig,
    broker: Broker,
    market: MarketView,
    clock: SimClock | SystemClock,
    symbols: list[str],
    timeframe: str,
    base_timeframe: str,
    sources: tuple[Mapping[str, str | object] | None, Any, Mapping[str, str] | None],
    *,
    feed: ReplayFeed | None = None,
    series: Mapping[str, Sequence[Bar]] | None = None,
) -> App:
    """Plugins, host and loop around a broker and a market: the same for every run mode.
    ``sources`` are the loader's (builtins, entry points, env) overrides."""
    plugins, recorder = _plugins(config, *sources)
    host = Host(broker, market, clock, config, plugins, log=logging.getLogger("hostapp.host"))
    plugins.configure(host)
    loop = TradingLoop(
        host=host,
        plugins=plugins,
        broker=broker,
        market=market,
        clock=clock,
        symbols=symbols,
        timeframe=timeframe,
        exit_manager=_exit_manager(plugins),
    )
    return App(
        config=config,
        broker=broker,
        market=market,
        clock=clock,
        host=host,
        plugins=plugins,
        recorder=recorder,
        loop=loop,
        timeframe=timeframe,
        base_timeframe=base_timeframe,
        feed=feed,
        series=series or {},
        start_balance=broker.account().balance,
    )
