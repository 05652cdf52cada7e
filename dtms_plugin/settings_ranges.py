"""The range of every number in DTMS's setting groups, and the orderings between them
(docs/dtms.md §10).

A value outside its range is refused at start-up in one line naming ``group.key``, the
range and the value, because the engine would otherwise run and do nonsense without a
word: a stale limit of 0 bars never scores a trade, a negative flat deadline closes a
hedged trade at the next cycle, a confluence limit of 0 calls every score "against".
Every number of every group must have an entry here: :func:`check_ranges` refuses to
pass a number it has no range for, so a new setting cannot be added without one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass

from .settings_checks import finite


@dataclass(frozen=True)
class Range:
    """An interval of allowed values; an open end excludes the bound itself."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    @property
    def text(self) -> str:
        """The range as docs/dtms.md §10 writes it: ``>= 1``, ``< 0``, ``(0, 1]``."""
        if self.low == -math.inf and self.high == math.inf:
            return "finite"
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low == -math.inf:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def __str__(self) -> str:
        return f"in {self.text}" if self.text[0] in "([" else self.text


def _ge(low: float) -> Range:
    return Range(low=low)


def _gt(low: float) -> Range:
    return Range(low=low, low_open=True)


def _lt(high: float) -> Range:
    return Range(high=high, high_open=True)


_ANY = Range()
_FRACTION = Range(0.0, 1.0, low_open=True)  # a share of a volume: none of it is no action
_COUNT = _ge(1)  # a number of bars or trades

#: The most fast bars a duration may be: it becomes a time span added to the host's clock
#: (a deadline, the arming age, a stale limit), and a datetime ends in the year 9999, so a
#: "never" of 1e9 bars passed every check, then failed every cycle with an OverflowError.
#: 10,000 bars of the longest timeframe (MN1, 30 days) are 821 years: room for any date
#: a host runs at; on M5 they are 35 days, longer than any ladder step means.
MAX_BARS = 10_000.0
#: ``retention_days``: 100 years is as good as "keep forever", and stays a date
MAX_RETENTION_DAYS = 36_500.0
#: The longest duration in seconds a setting may be: a day, as the host's own durations
#: (``[host] cycle_seconds``, ``--monitor-seconds``) are. Far longer than a cycle, a
#: lease, a timeout or a wait needs, and far shorter than what breaks the arithmetic:
#: ``monitor_seconds = 1e300`` passed "> 0", then ``dtms serve`` idled without a word,
#: and with a Redis store a replica's lease of ``2 * cycle`` was a TTL Redis refused on
#: every cycle.
MAX_SECONDS = 86_400.0
#: ``fresh_seconds``: a day; a cached state older than that is no fresh one
MAX_FRESH_SECONDS = MAX_SECONDS

#: ``group.key`` (``group.*``: every key of the group; for a table of labels, the range
#: of each value) -> its range. docs/dtms.md §10 gives the reason for each bound.
RANGES: dict[str, Range] = {
    "weights.*": _ge(0),
    "adaptive.range.*": _ge(0),
    "adaptive.high_volatility.*": _ge(0),
    "adaptive.asian": _ge(0),
    "indicators.atr_period": _COUNT,
    "indicators.atr_baseline": _COUNT,
    "indicators.rsi_period": _COUNT,
    "indicators.macd_fast": _COUNT,
    "indicators.macd_slow": _COUNT,
    "indicators.macd_signal": _COUNT,
    "indicators.ema_fast": _COUNT,
    "indicators.ema_slow": _COUNT,
    "indicators.ema_slope_bars": _COUNT,
    "indicators.bollinger_period": _ge(2),
    "indicators.bollinger_k": _gt(0),
    "indicators.swing_side_bars": _COUNT,
    "indicators.vwap_slope_bars": _COUNT,
    "indicators.vwap_side_bars": _COUNT,
    "indicators.macd_trend_bars": _ge(2),
    "indicators.candle_body_ratio": _FRACTION,
    "indicators.candle_range_atr": _ge(0),
    "indicators.delta_z": _ge(0),
    "indicators.warmup_bars": _COUNT,
    "thresholds.to_l1": _lt(0),
    "thresholds.l1_recover": _ANY,
    "thresholds.to_l2": _ANY,
    "thresholds.l2_recover": _ANY,
    "thresholds.to_hedge": _ANY,
    "thresholds.recover": _gt(0),
    "thresholds.confluence_against": Range(0.5, 1.0, low_open=True),
    "arming.profit_r": _gt(0),
    "arming.age_bars": Range(0.0, MAX_BARS),
    "arming.loss_r": _lt(0),
    "arming.adverse_move_r": _gt(0),
    "actions.tighten_r": _gt(0),
    "actions.partial_fraction": _FRACTION,
    "actions.hedge_fraction": _FRACTION,
    "actions.re_add_fraction": _FRACTION,
    "actions.flat_bars": Range(0.0, MAX_BARS, low_open=True),
    "actions.recovery_bars": Range(0.0, MAX_BARS, low_open=True),
    "actions.max_retries": _ge(0),
    "actions.unknown_wait_seconds": Range(0.0, MAX_SECONDS),
    "trail.period": _ge(2),
    "trail.atr_multiple": _gt(0),
    "rails.stale_bar_periods": Range(1.0, MAX_BARS),
    "rails.spread_median_bars": _COUNT,
    "rails.spread_max_ratio": _ge(1),
    "rails.daily_loss_pct": Range(0.0, 100.0),
    "rails.stop_streak": _COUNT,
    "rails.streak_bars": Range(0.0, MAX_BARS),
    "regime.range_width": _ge(0),
    "regime.range_width_by_symbol": _ge(0),
    "regime.vwap_slope_base": _gt(0),
    "regime.vwap_slope_jpy": _gt(0),
    "regime.vwap_slope_default": _gt(0),
    "regime.session_factor": _gt(0),
    "regime.volatility_factor": _gt(0),
    "regime.structure_factor": _gt(0),
    "regime.slope_clamp_low": _gt(0),
    "regime.slope_clamp_high": _gt(0),
    "regime.atr_ratio_low": Range(0.0, 1.0),
    "regime.atr_ratio_high": _ge(1),
    "regime.rsi_threshold": Range(0.0, 50.0),
    "regime.rsi_threshold_low_vol": Range(0.0, 50.0),
    "regime.opposite_volume_share": Range(0.5, 1.0),
    "regime.opposite_volume_share_low_vol": Range(0.5, 1.0),
}

#: The ranges of the numbers outside the groups: spans added to a date
#: (``retention_days`` before the host's clock, ``fresh_seconds`` after it) and the other
#: durations (a cycle, a lease, a timeout): the same one line when out of range
#: (docs/dtms.md §10).
TOP_LEVEL: dict[str, Range] = {
    "retention_days": Range(0.0, MAX_RETENTION_DAYS, low_open=True),
    "fresh_seconds": Range(0.0, MAX_FRESH_SECONDS),
    "last_known_seconds": Range(0.0, MAX_SECONDS),
    "lease_seconds": Range(0.0, MAX_SECONDS, low_open=True),
    "register_timeout_seconds": Range(0.0, MAX_SECONDS, low_open=True),
    "query_timeout_seconds": Range(0.0, MAX_SECONDS, low_open=True),
    "monitor_seconds": Range(0.0, MAX_SECONDS, low_open=True),
}

#: ``(lower, upper, strict)``: ``lower`` must be below ``upper`` (``strict``) or not above
#: it. The ladder's first (docs/dtms.md §5): each level deeper than the one before and
#: each way back above its way in, or a score between them moves the trade down and up
#: again on every cycle, with an action each time.
ORDERINGS: tuple[tuple[str, str, bool], ...] = (
    ("thresholds.to_hedge", "thresholds.to_l2", True),
    ("thresholds.to_l2", "thresholds.to_l1", True),
    ("thresholds.to_l1", "thresholds.l1_recover", True),
    ("thresholds.to_l2", "thresholds.l2_recover", True),
    ("thresholds.to_hedge", "thresholds.recover", True),
    ("indicators.macd_fast", "indicators.macd_slow", True),
    ("indicators.ema_fast", "indicators.ema_slow", True),
    ("regime.atr_ratio_low", "regime.atr_ratio_high", True),
    ("regime.slope_clamp_low", "regime.slope_clamp_high", False),
)


def range_of(key: str) -> Range:
    """The range of ``key`` (``group.key``, or the table's key for a value of a table of
    labels); a ``LookupError`` for a number the table forgot, which every construction
    of the settings meets, the defaults' included."""
    group = key.rpartition(".")[0]
    found = RANGES.get(key) or RANGES.get(f"{group}.*")
    if found is None:
        raise LookupError(f"{key}: no range in dtms_plugin/settings_ranges.py RANGES")
    return found


def _numbers(prefix: str, group: object) -> list[tuple[str, str, object]]:
    """``(range key, key to name, value)`` of every number under ``group``, nested groups
    and tables of labels included; booleans are switches, not numbers."""
    found: list[tuple[str, str, object]] = []
    for f in fields(group):  # type: ignore[arg-type]
        key, value = f"{prefix}.{f.name}", getattr(group, f.name)
        if is_dataclass(value):
            found += _numbers(key, value)
        elif isinstance(value, dict):
            found += [(key, f"{key}.{label}", number) for label, number in value.items()]
        elif not isinstance(value, bool):
            found.append((key, key, value))
    return found


def check_ranges(settings: object, groups: tuple[str, ...]) -> None:
    """Every number of the ``groups`` of ``settings``: a finite number first, then the
    orderings (a pair out of order is named as a pair), then each one's own range. Raises
    ``ValueError`` starting with the key (``rails.stale_bar_periods: must be in [1, 10000],
    got 0.0``)."""
    values: dict[str, float] = {}
    checks: list[tuple[str, float, Range]] = []
    for group in groups:
        for range_key, key, value in _numbers(group, getattr(settings, group)):
            finite(key, value)
            assert isinstance(value, int | float)  # finite() refused anything else
            values[key] = value
            checks.append((key, value, range_of(range_key)))
    for lower, upper, strict in ORDERINGS:
        below, above = values[lower], values[upper]
        if not (below < above if strict else below <= above):
            rule = "must be below" if strict else "must not be above"
            raise ValueError(f"{lower}: {rule} {upper} ({above:g}), got {below:g}")
    for key, value, allowed in checks:
        if not allowed.holds(value):
            raise ValueError(f"{key}: must be {allowed}, got {value!r}")


def check_top_level(settings: object) -> None:
    """Each number of :data:`TOP_LEVEL`: finite and in its range, or a ``ValueError``
    starting with the key (``retention_days: must be in (0, 36500], got 1000000.0``)."""
    for key, allowed in TOP_LEVEL.items():
        value = getattr(settings, key)
        finite(key, value)
        if not allowed.holds(value):
            raise ValueError(f"{key}: must be {allowed}, got {value!r}")
