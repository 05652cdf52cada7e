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
import math
import struct
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hookspecs import (
    Bar,
    Broker,
    ConfigError,
    MarketView,
    OrderRequest,
    RunMode,
    SymbolInfo,
    Timeframe,
    parse_settings,
)

from .clock import ScaledClock, SimClock, SystemClock
from .config import HostConfig
from .host import Host
from .loader import load_plugins
from .loop import TradingLoop
from .market.feed import ReplayFeed
from .market.timeframes import timeframe_seconds
from .pluginhost import PluginHost
from .report import RECORDER_NAME, RunRecorder

#: Where the builtin synthetic data starts: a Monday, so the sessions line up.
BUILTIN_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_DAYS = 30
#: Where the clock of a ``--speed`` run starts: this many base bars into the data. The
#: loop plays them as fast as it can (as a host that started late catches up), so the
#: strategies and DTMS have their history (DTMS's indicators warm up on about 900 M5
#: bars) and a demo shows trades at once instead of after hours of data time.
SPEED_HISTORY_BARS = 1000
log = logging.getLogger("hostapp")


@dataclass
class App:
    """Everything one run needs, wired together."""

    config: HostConfig
    broker: Broker
    market: MarketView
    clock: SimClock | SystemClock | ScaledClock
    host: Host
    plugins: PluginHost
    recorder: RunRecorder
    loop: TradingLoop
    timeframe: str
    base_timeframe: str
    feed: ReplayFeed | None = None
    series: Mapping[str, Iterable[Bar]] = dataclasses.field(default_factory=dict)
    start_balance: float = 0.0
    #: each plugin's ``run_report``, taken when the loop has ended
    plugin_reports: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


# -- data -----------------------------------------------------------------------------------


def infer_timeframe(bars: Sequence[Bar], where: str = "data") -> str:
    """The timeframe whose length is the most common gap between consecutive bars.

    The most common gap, not the smallest: daily data skips weekends (gaps of 1 and 3
    days) and intraday data has nights and weekends, and both must still read as their
    spacing. A month has no fixed length, so gaps of 28 to 31 days all count for MN1.
    """
    gaps = Counter(
        int((b.time - a.time).total_seconds()) for a, b in itertools.pairwise(bars[:2001])
    )
    votes: Counter[Timeframe] = Counter()
    for gap, n in gaps.items():
        tf = _timeframe_of_gap(gap)
        if tf is not None:
            votes[tf] += n
    if votes:
        return votes.most_common(1)[0][0].value
    raise ConfigError(
        f"{where}: cannot tell the timeframe (bar gaps {sorted(gaps)[:5]}); use --timeframe"
    )


_DAY = 86_400
#: Fixed timeframes by length; MN1's nominal 30 days would only catch some months.
_BY_SECONDS: dict[int, Timeframe] = {tf.seconds: tf for tf in Timeframe if tf.fixed}
#: A calendar month is 28 to 31 days; an hour either side absorbs a daylight saving
#: change in data whose times were local (midnight at -05:00, then at -04:00).
_MONTH_GAPS = range(28 * _DAY - 3600, 31 * _DAY + 3601)


def _timeframe_of_gap(gap: int) -> Timeframe | None:
    """The timeframe one bar-to-bar gap (seconds) is the length of, if any."""
    tf = _BY_SECONDS.get(gap)
    if tf is None and gap in _MONTH_GAPS:
        return Timeframe.MN1
    return tf


def builtin_series(
    symbols: Sequence[str], *, days: float, seed: int, timeframe: str = "M5"
) -> dict[str, list[Bar]]:
    """The seeded synthetic feed: ``days`` calendar days of ``timeframe`` bars per symbol.

    Calendar days, not ``days × bars-per-day`` bars: the FX and metal series have no bars
    at the weekend, so counting bars would run them past the period a 24/7 series covers.
    """
    streamed = streamed_builtin_series(symbols, days=days, seed=seed, timeframe=timeframe)
    return {s: list(bars) for s, bars in streamed.items()}


def streamed_builtin_series(
    symbols: Sequence[str], *, days: float, seed: int, timeframe: str = "M5"
) -> dict[str, Iterable[Bar]]:
    """The bars of :func:`builtin_series`, made as a feed reads them: a live run or a
    server over ``days`` costs the same memory and start-up time whatever ``days``."""
    from .market.synthetic import SyntheticSeries

    end = BUILTIN_START + timedelta(days=days)
    return {
        s: SyntheticSeries(s, BUILTIN_START, end, timeframe=timeframe, seed=seed) for s in symbols
    }


def first_time(bars: Iterable[Bar]) -> datetime | None:
    """Open time of the first bar of a stored or streamed series; ``None`` when empty."""
    if isinstance(bars, Sequence):
        return bars[0].time if bars else None
    return next((b.time for b in bars), None)


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
    series, base = streamed_config_series(config, days=days, seed=seed)
    return {s: list(bars) for s, bars in series.items()}, base


def streamed_config_series(
    config: HostConfig, *, days: float | None, seed: int
) -> tuple[dict[str, Iterable[Bar]], str]:
    """:func:`config_series` with the builtin data streamed (CSV data is read whole): for
    the live paper host and the server, which keep only a recent window of it."""
    data = config.host.data
    tf = config.host.timeframe
    if days is not None and not days > 0:  # NaN too
        raise ConfigError(f"days must be more than 0, got {days}")
    if data == "builtin":
        _check_builtin_symbols(config)
        base = tf if timeframe_seconds(tf) < timeframe_seconds("M5") else "M5"
        length = DEFAULT_DAYS if days is None else days
        symbols = config.host.symbols
        return streamed_builtin_series(symbols, days=length, seed=seed, timeframe=base), base
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
    return dict(series), infer_timeframe(first, str(next(iter(data.values()))))


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


def symbol_infos(series: Mapping[str, Iterable[Bar]]) -> dict[str, SymbolInfo]:
    """The paper broker's known symbols, plus a guess for any other symbol of the data.

    Digits are the most decimals the prices of the first 500 bars really have (opens,
    highs and lows too: a close can end in a zero the others do not), and at least
    enough that rounding the lowest price to the point keeps three significant digits,
    so a stop is never rounded to 0. A lot is sized to be worth about 100,000 (a power
    of ten: 100,000 units of a price near 1 as for FX, 100 of a price near 2,000 as for
    gold, 1 of a price near 60,000 as for bitcoin, 100,000,000 of a coin at 0.0016), so a
    0.01 lot risks about what it risks on the bundled symbols and sizing lands inside the
    0.01 to 100 lot limits whatever the instrument.
    """
    from .brokers.paper import DEFAULT_SYMBOLS

    infos = dict(DEFAULT_SYMBOLS)
    for symbol, bars in series.items():
        if symbol in infos:
            continue
        sample = list(itertools.islice(bars, 500))
        if not sample:
            continue
        prices = [p for b in sample for p in (b.open, b.high, b.low, b.close)]
        digits = max(max(_decimals(p) for p in prices), _digits_for(min(prices)))
        infos[symbol] = SymbolInfo(
            symbol,
            digits,
            10.0**-digits,
            0.01,
            0.01,
            100.0,
            contract_size=_contract_size(sample[0].close),
        )
    return infos


_MAX_DIGITS = 10


def _decimals(price: float) -> int:
    """Decimals ``price`` really has (0 to 10): the fewest that give the same number back.

    Not the decimals of its float text: a computed 1.1 is 1.1000000000000001 and a price
    a data frame kept in single precision reads 1.0946000814437866. The first is 1.1
    within float64 noise, the second is 1.0946 as a float32, and both count as such.
    """
    for digits in range(_MAX_DIGITS):
        rounded = round(price, digits)
        if math.isclose(rounded, price, rel_tol=1e-12) or _float32(rounded) == price:
            return digits
    return _MAX_DIGITS


def _float32(value: float) -> float:
    """``value`` stored in single precision and read back."""
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.nan


def _digits_for(lowest: float) -> int:
    """Decimals that keep three significant digits of ``lowest`` (0.0016 → 5)."""
    if lowest <= 0:
        return 0
    return min(_MAX_DIGITS, max(0, 2 - math.floor(math.log10(lowest))))


def _contract_size(price: float) -> float:
    """Units in one lot: the power of ten nearest a 100,000 notional, at least 1."""
    exponent = round(math.log10(100_000 / price)) if price > 0 else 5
    return float(10 ** max(0, exponent))


# -- configuration tweaks -------------------------------------------------------------------


def with_data_root(config: HostConfig, root: Path) -> HostConfig:
    """The same config with every plugin's state under ``root`` (``root/NAME``).

    A ``state_dir`` key in a plugin's table pins that plugin's state to a folder (the
    live one); it is dropped here, so that a simulated run never writes there."""
    tables = {
        k: {n: v for n, v in t.items() if n != "state_dir"} for k, t in config.plugin_tables.items()
    }
    return dataclasses.replace(config, plugin_tables=tables, data_root=Path(root))


#: The former name, still used by the replay benchmark.


def without_plugin(config: HostConfig, name: str) -> HostConfig:
    disabled = [*config.plugins.disabled, name] if name not in config.plugins.disabled else []
    if not disabled:
        return config
    return dataclasses.replace(
        config, plugins=dataclasses.replace(config.plugins, disabled=disabled)
    )


def with_plugin(config: HostConfig, name: str) -> HostConfig:
    """The same config with plugin ``name`` running (not disabled; enabled when optional)."""
    plugins = config.plugins
    enabled = plugins.enabled if name in plugins.enabled else [*plugins.enabled, name]
    disabled = [n for n in plugins.disabled if n != name]
    return dataclasses.replace(
        config, plugins=dataclasses.replace(plugins, disabled=disabled, enabled=enabled)
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
    plugins = load_plugins(config, builtins=builtins, entry_points=entry_points, env=env)
    recorder = RunRecorder()
    plugins.register(RECORDER_NAME, recorder)
    return plugins, recorder


def build_sim_app(
    config: HostConfig,
    series: Mapping[str, Iterable[Bar]],
    *,
    base_timeframe: str,
    timeframe: str | None = None,
    builtins: Mapping[str, str | object] | None = None,
    entry_points: Any = None,
    env: Mapping[str, str] | None = None,
    shared_account: bool = False,
    entries: Mapping[tuple[datetime, str], Sequence[OrderRequest]] | None = None,
    speed: float | None = None,
) -> App:
    """A paper host over ``series``. The paper account lives in memory unless
    ``shared_account`` (a backtest must never touch an account file others use).
    ``speed``: the data's time runs that many times faster than the wall clock from now
    on (a :class:`ScaledClock`, ``run --live --speed``) instead of bar by bar, from
    :data:`SPEED_HISTORY_BARS` bars into the data: the loop catches up on those first.
    ``entries``: open exactly these orders instead of the strategies' (the same-entries
    half of an A/B, :mod:`hostapp.compare`).
    Raises ConfigError for bad settings (including a plugin's ``configure``)."""
    from .brokers.paper import PaperBroker, PaperSettings

    timeframe = timeframe or config.host.timeframe
    firsts = [first_time(bars) for bars in series.values()]
    starts = [t for t in firsts if t is not None]
    if not starts:
        raise ConfigError("no bars to replay")
    config = with_host(config, symbols=list(series), timeframe=timeframe)
    clock: SimClock | ScaledClock = SimClock(min(starts))
    if speed is not None:
        history = timedelta(seconds=timeframe_seconds(base_timeframe) * SPEED_HISTORY_BARS)
        clock = ScaledClock(min(starts), speed, live_from=min(starts) + history)
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
        entries=entries,
        mode="live" if shared_account else "simulated",
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
        mode="live",
    )


def _assemble(
    config: HostConfig,
    broker: Broker,
    market: MarketView,
    clock: SimClock | SystemClock | ScaledClock,
    symbols: list[str],
    timeframe: str,
    base_timeframe: str,
    sources: tuple[Mapping[str, str | object] | None, Any, Mapping[str, str] | None],
    *,
    feed: ReplayFeed | None = None,
    series: Mapping[str, Iterable[Bar]] | None = None,
    entries: Mapping[tuple[datetime, str], Sequence[OrderRequest]] | None = None,
    mode: RunMode = "simulated",
) -> App:
    """Plugins, host and loop around a broker and a market: the same for every run mode.
    ``sources`` are the loader's (builtins, entry points, env) overrides."""
    plugins, recorder = _plugins(config, *sources)
    host = Host(
        broker, market, clock, config, plugins, log=logging.getLogger("hostapp.host"), mode=mode
    )
    plugins.configure(host)
    loop = TradingLoop(
        host=host,
        plugins=plugins,
        broker=broker,
        market=market,
        clock=clock,
        symbols=symbols,
        timeframe=timeframe,
        entries=entries,
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
