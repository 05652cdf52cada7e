"""The ``dtms`` builtin plugin: parses its settings, picks a strategy, forwards the hooks.

``strategy = "local"`` runs the engine in this process (:class:`LocalStrategy`),
``"remote"`` talks to a DTMS API server (:class:`dtms_plugin.remote.RemoteStrategy`), and
``"auto"`` runs locally when this host can feed the engine (a market and a broker that
answers), else remotely. ``is_defensive`` and ``allow_order`` are sync and do no I/O
beyond a local cache read; before ``startup`` they answer from the store anyway.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hookspecs import (
    BarSources,
    BrokerError,
    ConfigError,
    HostView,
    OrderRequest,
    ServeOptions,
    Trade,
    Veto,
    hookimpl,
    masked_url,
)

from . import defensive
from .engine import check_tables
from .settings import DtmsSettings, in_force, load_settings
from .settings_timeframes import for_host
from .store import StoreError, StoreProtocol
from .store.location import open_store
from .strategy import Strategy
from .tokens import served_token

if TYPE_CHECKING:  # aiohttp's server side is imported only when the host serves
    from .web import EngineWatch

_WHERE = "[plugin.dtms]"  # the host prefixes the file it read


def parse(host: HostView) -> DtmsSettings:
    """Settings from ``[plugin.dtms]``, with the engine's own checks and the timeframes
    decided for this host; ConfigError names the key."""
    table = host.config_for("dtms")
    settings = load_settings(table, _WHERE)
    if "state_dir" not in table:  # the host's folder for us: each simulated run has its own
        settings = dataclasses.replace(settings, state_dir=str(host.data_dir("dtms")))
    if host.mode == "simulated":  # its own engine and store, never the live ones
        settings = dataclasses.replace(settings, strategy="local", store="")
    try:
        check_tables(settings)
    except ValueError as exc:
        raise ConfigError(f"{_WHERE}: {exc}") from None
    market = host.market
    sources = market.base_sources() if isinstance(market, BarSources) else ()
    return for_host(settings, host.timeframe, market.base_timeframe, _WHERE, sources)


class DtmsPlugin:
    def __init__(self) -> None:
        self.log = logging.getLogger("dtms_plugin")
        self.settings: DtmsSettings | None = None
        self.strategy: Strategy | None = None
        self._store: StoreProtocol | None = None  # only for answers before startup
        self._server: Any = None  # the API server's app on a serving host (serving.py)
        #: the host as the local engine sees it once the host serves the dashboard: with
        #: the server's counters and history of transitions (``/metrics``, the page)
        self._observed: HostView | None = None
        self._watch: EngineWatch | None = None

    def _settings(self, host: HostView) -> DtmsSettings:
        if self.settings is None:
            self.settings = parse(host)
        return self.settings

    @hookimpl
    def configure(self, host: HostView) -> None:
        """Settings, and the store opened once: a store that cannot be opened stops the
        host at start-up (a ConfigError naming the key), instead of a DTMS that failed in
        ``startup`` and vetoes every order for the whole run."""
        self.settings = parse(host)
        try:  # a blank token stops the start here, whatever the mode, in one line
            served_token(self.settings.token_env)
        except ValueError as exc:
            raise ConfigError(f"{_WHERE} token_env: {exc}") from None
        serving = None
        if host.mode == "serve":  # refused for its bind address before the store is made
            from .serving import check_exposure, server_settings

            serving = server_settings(host, self.settings)
            check_exposure(host.serve_options or ServeOptions(), serving)
        if self._store is None:
            try:
                self._store = open_store(self.settings.store, self.settings.state_dir, self.log)
            except StoreError as exc:
                key = "store" if self.settings.store else "state_dir"
                raise ConfigError(f"{_WHERE} key '{key}': {exc}") from None
        if serving is not None:
            from .server import create_app

            self._server = create_app(serving, host=host, dashboard=True)

    @hookimpl
    async def startup(self, host: HostView) -> None:
        settings = self._settings(host)
        if host.mode == "serve":  # no strategy: the API server's engine runs the trades
            if self._store is not None:
                self._store.close()
                self._store = None
            return
        choice = settings.strategy
        if choice == "auto":
            choice = "local" if _engine_can_run(host) else "remote"
        if self._store is not None:
            self._store.close()
            self._store = None
        if choice == "local":
            from .local import LocalStrategy

            self.strategy = LocalStrategy(settings, log=self.log)
        else:
            from .remote import RemoteStrategy

            self.strategy = RemoteStrategy(settings, log=self.log)
        self.log.info("DTMS strategy: %s (configured %s)", choice, settings.strategy)
        live_only = _live_only(host)
        if live_only:
            self.log.info(
                "DTMS in a simulated run: the local engine on the run's own store in %s; "
                "%s %s for live runs",
                settings.state_dir,
                " and ".join(live_only),
                "is" if len(live_only) == 1 else "are",
            )
        await self.strategy.startup(host)

    @hookimpl
    async def shutdown(self, host: HostView) -> None:
        if self.strategy is not None:
            await self.strategy.shutdown(host)
        if self._store is not None:
            self._store.close()
            self._store = None

    @hookimpl
    async def on_trade_executed(self, host: HostView, trade: Trade) -> None:
        if self.strategy is None:
            self.log.error("DTMS not started: ticket %s not registered", trade.ticket)
            return
        await self.strategy.on_trade_executed(self._observed or host, trade)

    @hookimpl
    def on_cycle(self, host: HostView, now: datetime) -> Awaitable[None] | None:
        """The strategy's cycle for the host to await; nothing (sync) when the strategy
        had nothing to watch: the spec allows either, and a replay's idle bars then cost
        neither a coroutine nor its deadline."""
        strategy = self.strategy
        if strategy is None:
            return None
        if self._watch is not None and self._observed is not None:  # the host serves it
            return self._watch.cycle(strategy, self._observed, now)
        if strategy.quiet_cycle(now):
            return None
        return strategy.on_cycle(host, now)

    @hookimpl
    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        if self.strategy is not None:
            await self.strategy.on_trade_closed(self._observed or host, trade, reason)

    @hookimpl
    def run_report(self) -> dict[str, Any] | None:
        if self.strategy is None:
            out: dict[str, Any] = {"activity": 0, "note": "DTMS never started"}
        else:
            report = getattr(self.strategy, "report", None)
            out = report() if callable(report) else {"strategy": self.strategy.name}
        if self.settings is not None:
            out["settings"] = in_force(self.settings)
        return out

    @hookimpl
    def is_defensive(self, host: HostView, ticket: int) -> bool:
        if self.strategy is not None:
            return self.strategy.is_defensive(host, ticket)
        settings = self._settings(host)
        if self._store is None:
            self._store = open_store(settings.store, settings.state_dir, self.log)
        return defensive.answer(self._store, ticket, host.clock.now(), settings)[0]

    @hookimpl
    def web_routes(self, host: HostView) -> list[Any]:
        """The dashboard and API over the started strategy (see :mod:`dtms_plugin.web`),
        on the host's clock: the one the engine runs on."""
        if self._server is not None:
            return [self._server]
        from .web import observed, routes  # aiohttp's server side only when the host serves

        if self.strategy is not None and self.strategy.name == "local":
            # the local engine's transitions and actions counted and kept in its history,
            # and its cycles timed, as dtms serve's are, so the page, /metrics and
            # /dtms/status show them too
            self._observed, self._watch = observed(host, self.strategy)
        return list(routes(self.strategy, self.settings, host.clock.now, self._watch))

    @hookimpl
    def allow_order(self, host: HostView, order: OrderRequest) -> Veto | None:
        if self.strategy is not None:
            return self.strategy.allow_order(host, order)
        return None


def _live_only(host: HostView) -> list[str]:
    """The settings a simulated run leaves aside, as plugins.toml gives them: a remote
    strategy and a shared store. A replay, each run of an A/B or a sweep, and a simulated
    ``hostapp run`` write their trades into a store of their own, as into a state folder
    of their own (:func:`parse`); through the configured Redis store they shared one
    another's records and account mode (a full run vetoed all its 128 orders for the
    same-entries run's losses, ``--jobs`` changed the figures) and left that mode to the
    next live run, and a remote strategy sent replayed trades to a live server."""
    if host.mode != "simulated":
        return []
    table = host.config_for("dtms")
    said = []
    if table.get("strategy") == "remote":
        said.append('strategy = "remote"')
    if table.get("store"):
        said.append(f"store = {masked_url(str(table['store']))!r}")
    return said


def _engine_can_run(host: HostView) -> bool:
    """The engine needs bars and a broker that answers."""
    if getattr(host, "market", None) is None or getattr(host, "broker", None) is None:
        return False
    try:
        host.broker.account()
    except BrokerError:
        return False
    return True
