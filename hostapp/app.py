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
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hookspecs import (
    Bar,
    Broker,
    ConfigError,
    MarketView,
    OrderRequest,
    RunMode,
    SimBroker,
    parse_settings,
)

from .clock import ScaledClock, SimClock, SystemClock
from .config import HostConfig
from .costs_note import costs_note as costs_note

# The data a run replays is hostapp/data.py's; these names stay importable from here.
from .data import BUILTIN_START as BUILTIN_START
from .data import DEFAULT_DAYS as DEFAULT_DAYS
from .data import bar_zone, first_time, time_of_bar
from .data import check_resumable as check_resumable
from .data import config_series as config_series
from .data import infer_timeframe as infer_timeframe
from .data import joined_series as joined_series
from .data import load_csv_files as load_csv_files
from .data import load_csv_series as load_csv_series
from .data import streamed_config_series as streamed_config_series
from .host import Host
from .loader import load_plugins, refuse_unloaded
from .loop import TradingLoop
from .market.feed import ReplayFeed
from .market.timeframes import timeframe_seconds
from .pluginhost import PluginHost
from .report import RECORDER_NAME, RunRecorder
from .symbol_rules import guessed_rules_note as guessed_rules_note
from .symbol_rules import symbol_infos
from .table_reads import warn_unread

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
    #: the account's currency when the run began, the money every figure of it is in
    #: (the summary's ``currency``: "1,008.25" is no amount without it)
    currency: str = ""
    #: the tickets the broker's history held closed before this run (a resumed paper
    #: account's): not this run's, whose drawdown starts from ``start_balance``
    closed_before: frozenset[int] = frozenset()
    #: each plugin's ``run_report``, taken when the loop has ended
    plugin_reports: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: ``[host] timeframe`` as plugins.toml has it, when the run trades another (a
    #: replay's ``--timeframe``, or data too coarse for it): the run's notes say which
    configured_timeframe: str = ""


# -- configuration tweaks -------------------------------------------------------------------


def _history_end(series: Mapping[str, Iterable[Bar]], base_timeframe: str) -> datetime:
    """Where a ``--speed`` run's clock starts running: :data:`SPEED_HISTORY_BARS` bars into
    the data, counted in bars (the first series to have that many), so a weekend among
    them leaves the history as long as ever. Counted in time (the first bar plus 1,000
    periods), a weekend in the first 1,000 M5 bars cut the catch-up to 628 bars and left
    the clock to wait out the rest of the weekend in wall time."""
    ends = [t for bars in series.values() if (t := time_of_bar(bars, SPEED_HISTORY_BARS))]
    if ends:
        return min(ends)
    firsts = [t for bars in series.values() if (t := first_time(bars)) is not None]
    return min(firsts) + timedelta(seconds=timeframe_seconds(base_timeframe) * SPEED_HISTORY_BARS)


def with_data_root(config: HostConfig, root: Path) -> HostConfig:
    """The same config with every plugin's state under ``root`` (``root/NAME``).

    A ``state_dir`` key in a plugin's table pins that plugin's state to a folder (the
    live one); it is dropped here, so that a simulated run never writes there."""
    tables = {
        k: {n: v for n, v in t.items() if n != "state_dir"} for k, t in config.plugin_tables.items()
    }
    return dataclasses.replace(config, plugin_tables=tables, data_root=Path(root))


def without_plugin(config: HostConfig, name: str) -> HostConfig:
    """The same config with plugin ``name`` not running: disabled, and out of
    ``enabled`` (an optional plugin switched on there; the config refuses a name in both)."""
    plugins = config.plugins
    if name in plugins.disabled:
        return config
    enabled = [n for n in plugins.enabled if n != name]
    return dataclasses.replace(
        config,
        plugins=dataclasses.replace(plugins, disabled=[*plugins.disabled, name], enabled=enabled),
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
    listing: bool = False,
) -> tuple[PluginHost, RunRecorder]:
    """The run's plugins; an enabled one that cannot load stops the start, but for the
    ``listing`` (``hostapp plugins``), which shows it and why."""
    on_error = "isolate" if listing else None
    plugins = load_plugins(
        config, builtins=builtins, entry_points=entry_points, env=env, on_error=on_error,
        listing=listing,
    )  # fmt: skip
    if not listing:
        refuse_unloaded(config, plugins)
    recorder = RunRecorder()
    for info in plugins.listing():
        if info.name == RECORDER_NAME:
            dist = info.distribution
            where = (
                f" (an entry point of the distribution {dist} {info.version or ''}".rstrip()
                + f"; uninstall it with `pip uninstall {dist}` or rename the entry point)"
                if dist
                else ""
            )
            why = (
                f"a plugin is named {RECORDER_NAME!r}, the name of the host's own run "
                f"recorder: give its entry point another name{where}"
            )
            if not listing:
                raise ConfigError(why)
            plugins.refuse(RECORDER_NAME, why)  # listed failed, with the others; no run
            return plugins, recorder
    plugins.register(RECORDER_NAME, recorder)
    return plugins, recorder


def plugin_names(plugins: PluginHost) -> list[str]:
    """The enabled plugins, in call order, without the host's own run recorder (a part
    of the host registered as a plugin to hear every hook, not a plugin of the run)."""
    return [name for name in plugins.names if name != RECORDER_NAME]


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
    resume_from: datetime | None = None,
    listing: bool = False,
    base_sources: Sequence[str] = (),
) -> App:
    """A paper host over ``series``. The paper account lives in memory unless
    ``shared_account`` (a backtest must never touch an account file others use).
    ``speed``: the data's time runs that many times faster than the wall clock from now
    on (a :class:`ScaledClock`, ``run --live --speed``) instead of bar by bar, from
    :data:`SPEED_HISTORY_BARS` bars into the data: the loop catches up on those first.
    ``entries``: open exactly these orders instead of the strategies' (the same-entries
    half of an A/B, :mod:`hostapp.compare`). ``resume_from``: the shared account was
    traded up to then (a restart): the clock starts there, and the bars before it are
    the market's history without a cycle (nothing settles at their older prices).
    ``listing``: the throwaway host of ``hostapp plugins``, whose plugins that cannot
    load are listed, not refused, and whose ``configure`` the listing calls itself.
    ``base_sources``: the data files whose own bars are ``base_timeframe``, which the
    market view tells the plugins (:class:`hookspecs.BarSources`).
    Raises ConfigError for bad settings (including a plugin's ``configure``)."""
    from .brokers.paper import PaperBroker, PaperSettings
    from .brokers.paper_symbols import parse_paper_symbols

    configured, timeframe = config.host.timeframe, timeframe or config.host.timeframe
    firsts = [first_time(bars) for bars in series.values()]
    starts = [t for t in firsts if t is not None]
    if not starts:
        raise ConfigError("no bars to replay")
    config = with_host(config, symbols=list(series), timeframe=timeframe)
    begin = max(min(starts), resume_from) if resume_from is not None else min(starts)
    clock: SimClock | ScaledClock = SimClock(begin)
    if speed is not None:
        clock = ScaledClock(
            begin, speed, live_from=max(_history_end(series, base_timeframe), begin)
        )
    feed = ReplayFeed(
        series, base_timeframe=base_timeframe, zone=bar_zone(config), base_sources=base_sources
    )
    table = dict(config.host.paper)
    if not shared_account:
        table.pop("account_file", None)
    settings = parse_settings(PaperSettings, table, f"{config.source} [host.paper]")
    told = parse_paper_symbols(table.get("symbols"), config.source)
    broker = PaperBroker(
        symbols=symbol_infos(series, told),
        settings=settings,
        clock=clock.now,
        timeframe=base_timeframe,
        spreads=told.spreads(),
    )
    app = _assemble(
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
        listing=listing,
    )
    app.loop.resume_from = resume_from
    app.configured_timeframe = configured
    return app


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
    listing: bool = False,
) -> App:
    """Plugins, host and loop around a broker and a market: the same for every run mode.
    ``sources`` are the loader's (builtins, entry points, env) overrides."""
    plugins, recorder = _plugins(config, *sources, listing=listing)
    plugins.keep_late = mode == "simulated"  # a replay's clock waits for a plugin
    plugins.clock = clock.now  # when a breaker trips, as the run's summary says it
    if mode != "simulated":  # a replay's tripped plugin stays off (hostapp.breaker)
        plugins.retry_seconds = config.host.breaker_retry_seconds
    host = Host(
        broker, market, clock, config, plugins, log=logging.getLogger("hostapp.host"), mode=mode
    )
    if not listing:
        plugins.configure(host)
        warn_unread(config, plugins, host.table_reads)
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
    account = broker.account()
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
        start_balance=account.balance,
        currency=account.currency,
        closed_before=_closed_tickets(broker),
    )


def _closed_tickets(broker: Broker) -> frozenset[int]:
    """The positions a simulated broker's history holds closed (none for a fresh account)."""
    if not isinstance(broker, SimBroker):
        return frozenset()
    return frozenset(t.ticket for t in broker.closed_trades())
