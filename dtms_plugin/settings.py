"""DTMS settings: every number of docs/dtms.md lives here as a default, overridable in
``[plugin.dtms]`` of plugins.toml (nested tables for the groups, e.g.
``[plugin.dtms.weights]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal

from hookspecs import Timeframe, masked_url, parse_settings, settings_in_force

from .settings_checks import at_least, http_url, store_db, store_url, web_origin
from .settings_ranges import check_ranges, check_top_level

#: The setting groups, the nested tables: every number in them has a range
#: (settings_ranges.py, docs/dtms.md §10)
GROUPS = (
    "weights", "adaptive", "indicators", "thresholds", "arming", "actions", "rails", "trail",
    "regime",
)  # fmt: skip


@dataclass(frozen=True)
class Weights:
    structure: float = 3.0
    vwap_volume: float = 2.0
    momentum: float = 2.0
    ema_alignment: float = 1.5
    delta_pressure: float = 1.0
    candle_conviction: float = 1.0


def _range_weights() -> Weights:
    return Weights(0.7, 1.3, 1.0, 0.8, 1.2, 1.1)


def _high_vol_weights() -> Weights:
    return Weights(1.2, 0.9, 0.8, 1.0, 1.1, 0.9)


@dataclass(frozen=True)
class AdaptiveWeights:
    """Multipliers on the base weights by regime (docs/dtms.md §4). When the product of the
    multipliers would push the sum of weights above the sum of the base weights, the
    engine scales them back so the total stays within ±Σ base weights."""

    range: Weights = field(default_factory=_range_weights)
    high_volatility: Weights = field(default_factory=_high_vol_weights)
    asian: float = 0.8


@dataclass(frozen=True)
class Indicators:
    """Indicator periods (docs/dtms.md §2) and the candle/order-flow cut-offs of §4."""

    atr_period: int = 14
    atr_baseline: int = 50
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    ema_fast: int = 50
    ema_slow: int = 200
    ema_slope_bars: int = 10
    bollinger_period: int = 20
    bollinger_k: float = 2.0
    swing_side_bars: int = 2
    vwap_slope_bars: int = 3
    vwap_side_bars: int = 2
    macd_trend_bars: int = 3
    candle_body_ratio: float = 0.65
    candle_range_atr: float = 0.8
    delta_z: float = 0.5
    warmup_bars: int = 300


@dataclass(frozen=True)
class Thresholds:
    """State-machine score thresholds (docs/dtms.md §5)."""

    to_l1: float = -2.0  # HEALTHY -> WARNING_L1 when S <= this
    l1_recover: float = 0.0  # WARNING_L1 -> HEALTHY when S >= this
    to_l2: float = -4.0  # WARNING_L1 -> WARNING_L2
    l2_recover: float = -2.0  # WARNING_L2 -> WARNING_L1
    to_hedge: float = -6.0  # WARNING_L2 -> HEDGED, RECOVERING -> HEDGED
    recover: float = 1.0  # HEDGED -> RECOVERING, RECOVERING -> HEALTHY
    confluence_against: float = 0.7


@dataclass(frozen=True)
class Arming:
    """When a new trade starts being evaluated. Ages are in fast bars."""

    profit_r: float = 0.2
    age_bars: float = 3.0
    loss_r: float = -0.5
    adverse_move_r: float = 0.5  # re-evaluate at once when price moved this much against


@dataclass(frozen=True)
class ActionsConfig:
    tighten_r: float = 0.3  # SL distance behind price on tighten
    partial_fraction: float = 0.5
    hedge_fraction: float = 0.5
    re_add: bool = False
    re_add_fraction: float = 0.5
    flat_bars: float = 15.0  # HEDGED: close all when still hedged this many fast bars later
    recovery_bars: float = 6.0  # RECOVERING: decide this many fast bars later
    max_retries: int = 3
    # an action of unknown outcome that the broker does not show done is judged "not
    # applied" (and sent again) only this long after its answer: a trade server may fill
    # a timed-out order later, and a second one would double it
    unknown_wait_seconds: float = 60.0


@dataclass(frozen=True)
class Trail:
    """The trailing stop under every trade DTMS watches and has not hedged (docs/dtms.md
    §6): a Chandelier stop, the highest high (lowest low for a sell) of the last
    ``period`` fast bars minus (plus) ``atr_multiple`` × their mean true range, moved on
    each closed fast bar with fresh data, tighter only. It runs from the trade's entry,
    before the trade is armed: a stop is an exit rule, not a verdict of the ladder."""

    enabled: bool = True
    period: int = 22
    atr_multiple: float = 2.75


@dataclass(frozen=True)
class Rails:
    """Safety rails; durations in fast bars."""

    stale_bar_periods: float = 2.0
    spread_median_bars: int = 100
    spread_max_ratio: float = 2.0
    daily_loss_pct: float = 2.0
    stop_streak: int = 3
    streak_bars: float = 12.0  # account mode after a stop streak lasts this many fast bars


@dataclass(frozen=True)
class Regime:
    range_width: float = 0.004
    range_width_by_symbol: dict[str, float] = field(default_factory=dict)
    vwap_slope_base: dict[str, float] = field(
        default_factory=lambda: {
            "XAUUSD": 0.001,
            "BTCUSD": 0.002,
            "EURUSD": 0.0005,
            "GBPUSD": 0.0005,
        }
    )
    vwap_slope_jpy: float = 0.0007
    vwap_slope_default: float = 0.001
    session_factor: dict[str, float] = field(
        default_factory=lambda: {"ASIAN": 1.5, "LONDON": 1.0, "NY": 0.8, "OVERLAP": 0.7}
    )
    volatility_factor: dict[str, float] = field(
        default_factory=lambda: {"LOW": 1.4, "NORMAL": 1.0, "HIGH": 0.8}
    )
    structure_factor: dict[str, float] = field(default_factory=lambda: {"RANGE": 1.3, "TREND": 1.0})
    slope_clamp_low: float = 0.5
    slope_clamp_high: float = 1.8
    atr_ratio_low: float = 0.7
    atr_ratio_high: float = 1.3
    rsi_threshold: float = 45.0
    rsi_threshold_low_vol: float = 40.0
    opposite_volume_share: float = 0.65
    opposite_volume_share_low_vol: float = 0.72


@dataclass(frozen=True)
class DtmsSettings:
    strategy: Literal["local", "remote", "auto"] = "auto"
    api_url: str = "http://127.0.0.1:8001"
    token_env: str = "DTMS_TOKEN"
    state_dir: str = ".hostapp/dtms"
    #: The magic number of the positions DTMS defends: at start-up the local strategy
    #: adopts open positions with it that it holds no record of (docs/dtms.md §8). Unset:
    #: those with the magic numbers of the trades it holds records of (the host's own),
    #: and every position but DTMS's own hedges only when it holds no record at all.
    magic: int | None = None
    #: Days a CLOSED trade (its record, state and action history) is kept before the
    #: local strategy removes it, a few at a time in quiet cycles; open trades never.
    retention_days: float = 30.0
    #: A Redis URL (``redis://host:port/db``) to share the store between several
    #: ``dtms serve`` replicas (docs/scaling.md); empty: the diskcache in ``state_dir``.
    store: str = ""
    #: Origins of the web pages (``http://localhost:8000``) that may read and call
    #: ``dtms serve``'s API from a browser (CORS); none by default, as any page the trader
    #: opens could otherwise read the trades (docs/client.md, "Browser pages").
    cors_origins: tuple[str, ...] = ()
    #: With a Redis store: how long a replica's lease on a trade lasts unrenewed. Renewed
    #: every cycle, so it must outlast the longest cycle; a dead replica's trades move to
    #: the live ones after it (docs/scaling.md). At least two cycles are used (a shorter
    #: one is said at start-up).
    lease_seconds: float = 10.0
    #: The HTTP status ``dtms serve`` answers a first registration with: 201 (Created),
    #: or 200 as the original DTMS did, for its clients that take any other status for a
    #: failure (docs/client.md, "Registering"). A repeat is a 200 either way.
    created_status: int = 201
    fresh_seconds: float = 10.0
    last_known_seconds: float = 30.0
    #: ``"auto"``: fast = the host's timeframe, signal = the next coarser one (see
    #: :attr:`hookspecs.Timeframe.signal`); ``"explicit"``: both keys below must be set.
    #: Under ``"auto"`` a key that is set still wins over the automatic choice.
    timeframes: Literal["auto", "explicit"] = "auto"
    fast_timeframe: str = ""
    signal_timeframe: str = ""
    register_timeout_seconds: float = 5.0
    query_timeout_seconds: float = 2.0
    #: Seconds between the monitoring cycles of ``dtms serve`` (its --monitor-seconds wins).
    monitor_seconds: float = 5.0
    weights: Weights = field(default_factory=Weights)
    adaptive: AdaptiveWeights = field(default_factory=AdaptiveWeights)
    indicators: Indicators = field(default_factory=Indicators)
    thresholds: Thresholds = field(default_factory=Thresholds)
    arming: Arming = field(default_factory=Arming)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    rails: Rails = field(default_factory=Rails)
    trail: Trail = field(default_factory=Trail)
    regime: Regime = field(default_factory=Regime)

    def __post_init__(self) -> None:
        """Refuse nonsense with a ``ValueError`` naming the key (``parse_settings`` turns
        it into a ConfigError naming the table)."""
        check_top_level(self)  # spans added to a date, and durations: at most a day
        at_least("last_known_seconds", self.last_known_seconds, self.fresh_seconds)
        for name in ("state_dir", "token_env"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: must not be empty")
        http_url("api_url", self.api_url)
        if type(self.created_status) is not int or self.created_status not in (200, 201):
            raise ValueError(
                "created_status: must be 201 (Created) or 200 (as the original DTMS answered"
                f" a first registration), got {self.created_status!r}"
            )
        for origin in self.cors_origins:
            web_origin("cors_origins", origin)
        store_url("store", self.store)
        store_db("store", self.store)
        for name in ("fast_timeframe", "signal_timeframe"):
            if getattr(self, name):
                Timeframe.parse(getattr(self, name), name)
            elif self.timeframes == "explicit":
                raise ValueError(f'{name}: required with timeframes = "explicit"')
        if self.fast.signal is None and not self.signal_timeframe:
            raise ValueError(
                f"signal_timeframe: no timeframe above {self.fast.value} to read signals "
                "from; set signal_timeframe (and fast_timeframe) explicitly"
            )
        if not self.fast.finer_than(self.signal):
            raise ValueError(
                f"signal_timeframe: {self.signal.value} must be coarser than the fast "
                f"timeframe {self.fast.value}"
            )
        check_ranges(self, GROUPS)

    @cached_property
    def fast(self) -> Timeframe:
        """The timeframe trades are watched on: ``fast_timeframe``, which
        :func:`for_host` fills in from the host; M5 (the original DTMS's) for settings
        built without a host, as the engine's own tests do."""
        return Timeframe.parse(self.fast_timeframe or "M5", "fast_timeframe")

    @cached_property
    def signal(self) -> Timeframe:
        """The timeframe the signals are read from: ``signal_timeframe``, else the next
        coarser than :attr:`fast`."""
        if self.signal_timeframe:
            return Timeframe.parse(self.signal_timeframe, "signal_timeframe")
        return self.fast.signal or self.fast

    def fast_bars(self, count: float) -> timedelta:
        """``count`` fast bars as a duration: every duration of docs/dtms.md is counted in
        bars, so the ladder behaves the same on M5 and on D1."""
        return self.fast.period * count

    @property
    def session_aware(self) -> bool:
        """Session multipliers apply only when the fast timeframe is H1 or finer: a bar
        longer than a session has no session."""
        return not Timeframe.H1.finer_than(self.fast)

    def vwap_anchor(self) -> Timeframe:
        """What the VWAP is anchored to: the day for fast ≤ H1, the week for H2 to H12, the
        month for D1 and coarser."""
        if self.session_aware:
            return Timeframe.D1
        return Timeframe.W1 if self.fast.finer_than(Timeframe.D1) else Timeframe.MN1


#: The settings outside the groups that the engine decides by (the groups' are all the
#: engine's): the timeframes, the magic number it adopts by, how long it keeps closed
#: trades. The others (the URL, the token, the store, timeouts) are each process's own.
ENGINE_KEYS = frozenset({"fast_timeframe", "signal_timeframe", "magic", "retention_days"})


def engine_setting(key: str) -> bool:
    """Whether the dotted ``key`` (``thresholds.to_hedge``, as :func:`in_force` names it)
    is one the engine decides by: what a remote host's own settings do not change
    (:mod:`.remote_settings`) and what records are written under
    (:mod:`.local_settings_change`)."""
    return key in ENGINE_KEYS or key.partition(".")[0] in GROUPS


def load_settings(table: Mapping[str, Any], where: str = "[plugin.dtms]") -> DtmsSettings:
    return parse_settings(DtmsSettings, table, where)


def in_force(settings: DtmsSettings) -> dict[str, Any]:
    """The settings a run used, for its report (the ``run_report`` hook's ``settings``):
    the URLs with their secrets masked, as the logs show them; without ``state_dir``, which
    a replay's host sets to the run's own folder (two runs of one setting would differ)."""
    out = settings_in_force(settings, omit=frozenset({"state_dir"}))
    for key in ("api_url", "store"):
        if "://" in out[key]:
            out[key] = masked_url(out[key])
    return out
