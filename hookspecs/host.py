"""What a plugin may use of the host: the ``host`` object every hook receives.

These are ``typing.Protocol`` classes, so a plugin depends on the shape and never on
``hostapp`` itself; the host, the DTMS server (a headless host) and test doubles all
satisfy them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

# The broker's protocols moved to hookspecs.broker; importable from here as before.
from .broker import (  # noqa: F401
    AccountInfo,
    Broker,
    BrokerError,
    ClosedPositions,
    CloseReasons,
    MarginMode,
    OwnMagic,
    ProfitCalculator,
    Quote,
    SimBroker,
    SymbolInfo,
    apply_action,
    re_add_order,
)
from .types import (
    Action,
    ActionResult,
    Bar,
    DefensiveState,
)

#: How the host runs: a simulated run or replay (paper broker, replayed clock), a live run
#: (wall clock), or serve (headless: no strategy plugin proposes orders; the broker, the
#: monitoring loop and the web app only). See docs/architecture.md, "Run modes".
RunMode = Literal["simulated", "live", "serve"]


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What the user asked of a serving host (``hostapp serve`` and its flags).

    ``bind``/``port``: where the web app listens. ``monitor_seconds``: the period asked
    with ``--monitor-seconds`` (None: each monitor keeps its own default).
    ``insecure``: the user accepted serving a non-loopback address without a token.
    ``broker``/``symbols``: the ``[host]`` broker kind and symbols, for documents that
    list what may be traded."""

    bind: str = "127.0.0.1"
    port: int = 8001
    monitor_seconds: float | None = None
    insecure: bool = False
    broker: str = "paper"
    symbols: tuple[str, ...] = ()


#: The longest request line (method, target with its query, version) the host's web app
#: reads, in bytes: 128 KiB, not aiohttp's 8 KiB, so a plugin's query may list thousands of
#: tickets. A longer one is a 400 from the host before any plugin's route sees it, which a
#: plugin's own document of its routes can say with this number.
MAX_REQUEST_LINE_BYTES = 131072


class MarketView(Protocol):
    """Closed bars only: the bar still forming is never returned."""

    @property
    def base_timeframe(self) -> str:
        """The finest timeframe this view holds bars of (a replay: the data's; a terminal
        that builds any timeframe: ``"M1"``). Every timeframe that can be built from it
        (:meth:`hookspecs.Timeframe.can_build_from`) is served; a plugin checks the
        timeframes it needs against it at ``configure``, not on every cycle."""
        ...

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        """The newest ``count`` closed bars of ``symbol`` on ``timeframe`` (``"M5"``,
        ``"M15"``, ``"H1"``…), oldest first; fewer when history is shorter. A sequence to
        read: a replay's market answers a tuple (a slice of the series it keeps), a live
        one may answer a list; ``list(...)`` it to change it."""
        ...


@runtime_checkable
class SeriesView(Protocol):
    """An optional capability of a :class:`MarketView` that may know every bar in advance.
    A replay's view offers it and answers the whole series; a live paper run's view is
    the same feed, replayed on the wall clock, and offers it too, but answers ``None``
    for a series it streams (the builtin data; a CSV file is read whole, and answered);
    a live broker's market (MetaTrader's) does not offer it. So a plugin that can work
    ahead (the DTMS engine computes its indicators over the whole series at once) checks
    ``isinstance(host.market, SeriesView)`` and then that :meth:`series` answered, and
    takes its incremental path otherwise; ``bars`` stays the only way to read what has
    closed so far, and a plugin must still use only bars closed by ``now``."""

    def series(
        self, symbol: str, timeframe: str
    ) -> tuple[Sequence[Bar], Sequence[datetime]] | None:
        """Every bar of ``symbol`` on ``timeframe`` the run will ever show, oldest first,
        and beside each the time it closes (when :meth:`MarketView.bars` starts to
        return it); ``None`` when this run does not hold its whole series (a live run's
        feed streamed bar by bar), so the plugin takes its incremental path.
        ``ValueError`` for an unknown symbol or a timeframe that cannot be built from
        the base one."""
        ...


@runtime_checkable
class BarSources(Protocol):
    """An optional capability of a :class:`MarketView` whose bars were read from data
    files (a replay's): which files' own bars are its ``base_timeframe``. Why: a plugin
    that needs finer bars than the base says so at ``configure``, and with files of
    several spacings (the finer ones built up to the coarsest) "the data has H1 bars"
    left the trader to find which file was too coarse. A plugin checks
    ``isinstance(host.market, BarSources)`` and names what :meth:`base_sources` answers
    as data it was given, never read out of a message."""

    def base_sources(self) -> Sequence[str]:
        """The names of the files whose own bars are ``base_timeframe`` (the coarsest;
        the other files' bars were built up to it), in the order they were given; empty
        when this view does not know (its bars came from no file)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC. In a replay this is the replayed time."""
        ...


@runtime_checkable
class StandingClock(Protocol):
    """An optional capability of a host's clock: words while it stands still because
    nothing drives it, None while it moves. A serving host on a paper account file
    offers it (``hostapp serve``, ``dtms serve``): its clock is the newest quote the
    trading host wrote there, and with no trading host it stands; a plugin checks
    ``isinstance(host.clock, StandingClock)``.

    Why: a plugin's rules of time wait on that clock (DTMS takes a position its broker
    no longer lists as gone only after a minute of it, and counts its deadlines in its
    bars), so with it standing nothing the plugin promised happens, and nothing is
    wrong with the plugin either; its status pages say why instead of "healthy" alone."""

    def standing(self) -> str | None:
        """Why the clock stands and since when, in words (the host's own line about it),
        or None while it moves. Cheap: asked by status pages at any time."""
        ...


@runtime_checkable
class RunView(Protocol):
    """An optional capability of a host: which run of its command it is. The simulated
    hosts offer it (``hostapp run``, ``hostapp replay`` and each run of an A/B or a
    sweep); a plugin checks ``isinstance(host, RunView)`` and takes a host without it as
    the command's own run.

    Why: a command may replay the same bars several times (an A/B's three runs, a sweep's
    dozens), and a plugin that tells the outside world what happened (a chat webhook)
    would tell each event once per run, the counterfactual runs' too."""

    @property
    def run_name(self) -> str:
        """The run as the command's summary names it (its ``run`` field): ``"run"`` for
        a run's or a replay's own, ``"without"``, ``"same_entries"`` and ``"full"`` for
        an A/B's three."""
        ...

    @property
    def own_run(self) -> bool:
        """Whether this is the command's own run: ``hostapp run``'s, a replay's, an A/B's
        full run (``hostapp run`` reuses its own for it). The others, an A/B's baseline
        and same-entries runs and a sweep's runs, replay the same bars with a plugin
        switched on or off or the entries scripted; a plugin that tells the outside world
        tells it of the command's own run only, so each event is told once."""
        ...


@runtime_checkable
class HostView(Protocol):
    """The host as a plugin sees it."""

    @property
    def broker(self) -> Broker:
        """The account's broker itself, not a view of the host: read from it freely
        (``positions``, ``position``, ``symbol_info``, ``account``, its optional
        capabilities), but its write methods (``open``, ``close``, ``modify_sl_tp``,
        ``hedge``) bypass the host. An order sent through it is asked of no plugin's
        ``allow_order``, no plugin hears of it (no ``on_action``, no
        ``on_trade_executed``), no ``source`` names who did it, and the run's reports
        take a position opened that way for one another program opened (``external``
        when it closes). Act through :meth:`execute` (an :class:`~hookspecs.Action`) and
        open new entries from ``propose_orders``."""
        ...

    @property
    def market(self) -> MarketView: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def timeframe(self) -> str:
        """The host's timeframe: a cycle with new orders runs when a bar of it closes.
        A :class:`hookspecs.Timeframe` name (``"M5"``, ``"H1"``, …)."""
        ...

    @property
    def log(self) -> logging.Logger:
        """The host's own logger (``hostapp.host``), the same for every plugin: a line
        written through it is named as the host's. A plugin logs through a logger of its
        own name (``logging.getLogger("NAME")``), whose lines the host's handlers take too."""
        ...

    @property
    def mode(self) -> RunMode:
        """How this host runs; a plugin serving an API only in ``"serve"`` checks it."""
        ...

    @property
    def serve_options(self) -> ServeOptions | None:
        """The serving host's options; None unless ``mode == "serve"``."""
        ...

    def config_for(self, plugin_name: str) -> Mapping[str, Any]:
        """The ``[plugin.NAME]`` table of plugins.toml (empty when absent)."""
        ...

    def data_dir(self, plugin_name: str) -> Path:
        """The folder this plugin keeps its state in unless its settings name one.

        The host decides where: a live host keeps every plugin's state in one place
        (``.hostapp/NAME``), each simulated run (a replay, each run of an A/B) has its
        own, so replayed trades never mix with live ones. The folder may not exist yet;
        the plugin creates it with the permissions it needs."""
        ...

    def is_defensive(self, ticket: int) -> bool:
        """Is this trade under defensive management? The ``is_defensive`` hook, asked of
        every plugin, with its fail-safe (a plugin that fails counts as True). Ask it
        before touching a position (``manage_positions``); never does network I/O."""
        ...

    async def execute(self, action: Action) -> ActionResult:
        """Carry out ``action`` on the broker, fire ``on_action`` for every plugin, and
        return the result. Refusals come back as results; this never raises for them.
        A ``re_add`` opens an order, so the plugins' ``allow_order`` is asked first; a
        veto is a ``vetoed`` result (final: a retry meets the same veto). The action's
        ``source`` becomes the name of the plugin whose hook is calling, whatever it
        said (one WARNING per plugin that names another); outside any hook it is kept.
        A coroutine: ``await`` it (from an async hook); one never awaited does nothing,
        which the host says in one ERROR line per plugin and a note of the run."""
        ...

    async def report_action(self, action: Action, result: ActionResult) -> None:
        """Fire ``on_action`` for every plugin, for an action carried out elsewhere: by a
        DTMS server (``dtms serve``) on this account, for one of this host's trades, which
        DTMS's remote strategy learns from the server's history. The host logs it as it
        logs what :meth:`execute` does, saying it was reported, and calls no broker. It
        does not count it as its own: the action is not among the run's action rows (the
        summary's ``actions_by_source`` is what this host carried out), and a position it
        closed is closed outside this host (``on_trade_closed`` says ``external``)."""
        ...

    async def report_state_change(
        self,
        ticket: int,
        old: DefensiveState,
        new: DefensiveState,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Fire ``on_state_change`` for every plugin (used by DTMS strategies, the remote
        one for the changes a DTMS server made); ``details`` is the score breakdown behind
        the change, as data."""
        ...
