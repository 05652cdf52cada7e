"""The signal score of docs/dtms.md §4: six trade-relative sub-scores in [−1, 1], weighted.

One small function per signal (as Freqtrade's protections are one class per concern),
each taking the snapshot and the trade's sign (+1 buy, −1 sell) and returning
``None`` when its input is missing (it then scores 0 and is reported as missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hookspecs import Bar, Direction

from ..settings import DtmsSettings, Weights
from .regime import Regime, Session, Structure, Volatility
from .tolerance import TOLERANCE, at_least


class Flow(Protocol):
    """The order-flow figures a score reads (``snapshot.OrderFlow`` has them)."""

    @property
    def buy_volume(self) -> float: ...

    @property
    def sell_volume(self) -> float: ...

    @property
    def delta_z(self) -> float | None: ...


class ScoreInputs(Protocol):
    """What the score reads of a snapshot (``snapshot.SignalSnapshot`` has it).

    A protocol rather than an import of the snapshot module, which itself calls
    :func:`compute_score`: the score depends on the shape of its input only, so the two
    modules do not import each other."""

    @property
    def settings(self) -> DtmsSettings: ...

    @property
    def fast_bar(self) -> Bar: ...

    @property
    def signal_close(self) -> float | None: ...

    @property
    def atr_fast(self) -> float | None: ...

    @property
    def rsi(self) -> float | None: ...

    @property
    def rsi_prev(self) -> float | None: ...

    @property
    def hist(self) -> tuple[float, ...]: ...

    @property
    def ema_fast_slope(self) -> float | None: ...

    @property
    def ema_slow_slope(self) -> float | None: ...

    @property
    def swing_high(self) -> float | None: ...

    @property
    def swing_low(self) -> float | None: ...

    @property
    def vwap(self) -> float | None: ...

    @property
    def vwap_slope(self) -> float | None: ...

    @property
    def vwap_above(self) -> int: ...

    @property
    def vwap_below(self) -> int: ...

    @property
    def order_flow(self) -> Flow | None: ...

    @property
    def regime(self) -> Regime: ...

    @property
    def weights(self) -> tuple[float, ...]: ...

    @property
    def signal_cache(self) -> dict[int, tuple[float | None, ...]]: ...


SIGNALS: tuple[str, ...] = (
    "structure",
    "vwap_volume",
    "momentum",
    "ema_alignment",
    "delta_pressure",
    "candle_conviction",
)


def _clamp(x: float) -> float:
    return -1.0 if x < -1.0 else 1.0 if x > 1.0 else x


def structure_score(s: ScoreInputs, sign: int) -> float | None:
    """Close beyond the last confirmed swing against the trade −1, in favour +1."""
    c = s.signal_close
    if c is None or (s.swing_high is None and s.swing_low is None):
        return None
    against, favour = (s.swing_low, s.swing_high) if sign > 0 else (s.swing_high, s.swing_low)
    if against is not None and sign * (c - against) < 0.0:
        return -1.0
    if favour is not None and sign * (c - favour) > 0.0:
        return 1.0
    return 0.0


def vwap_slope_against(s: ScoreInputs, sign: int) -> bool:
    return s.vwap_slope is not None and sign * s.vwap_slope < -s.regime.vwap_threshold


def vwap_volume_score(s: ScoreInputs, sign: int) -> float | None:
    if s.vwap is None:
        return None
    need = s.settings.indicators.vwap_side_bars
    wrong, right = (s.vwap_below, s.vwap_above) if sign > 0 else (s.vwap_above, s.vwap_below)
    score = -0.5 if wrong >= need else 0.5 if right >= need else 0.0
    if s.vwap_slope is not None:
        slope = sign * s.vwap_slope
        thr = s.regime.vwap_threshold
        score += -0.5 if slope < -thr else 0.5 if slope > thr else 0.0
    flow = s.order_flow
    if flow is not None and flow.buy_volume + flow.sell_volume > 0.0:
        opposite = flow.sell_volume if sign > 0 else flow.buy_volume
        share = opposite / (flow.buy_volume + flow.sell_volume)
        rg = s.settings.regime
        limit = (
            rg.opposite_volume_share_low_vol
            if s.regime.volatility is Volatility.LOW
            else rg.opposite_volume_share
        )
        if share > limit:
            score -= 0.5
    return _clamp(score)


def momentum_score(s: ScoreInputs, sign: int) -> float | None:
    """RSI below threshold and falling −0.6 (buy; mirrored around 50 for a sell), RSI
    beyond 50 and rising +0.6; MACD histogram strictly falling over the last
    ``macd_trend_bars`` bars −0.4, strictly rising +0.4."""
    rsi = s.rsi
    if rsi is None and not s.hist:
        return None
    score = 0.0
    prev = s.rsi_prev
    if rsi is not None and prev is not None:
        r, p = (rsi, prev) if sign > 0 else (100.0 - rsi, 100.0 - prev)
        if r < s.regime.rsi_threshold and r < p:
            score -= 0.6
        elif r > 50.0 and r > p:
            score += 0.6
    h = s.hist
    if len(h) >= 2:
        falling = rising = True
        prev_h = h[0]
        for x in h[1:]:  # a plain loop: two ``all(genexpr)`` cost more than the rest
            if not prev_h > x:
                falling = False
            if not prev_h < x:
                rising = False
            prev_h = x
        if falling:
            score -= 0.4 * sign
        elif rising:
            score += 0.4 * sign
    return _clamp(score)


def ema_alignment_score(s: ScoreInputs, sign: int) -> float | None:
    """Both slopes with +1, both against −1, EMA50 against only −0.5, EMA200 against
    only (EMA50 with) +0.25; a flat slope is neither with nor against."""
    f, sl = s.ema_fast_slope, s.ema_slow_slope
    if f is None or sl is None:
        return None
    fs, ss = sign * f, sign * sl
    if fs > 0.0 and ss > 0.0:
        return 1.0
    if fs < 0.0 and ss < 0.0:
        return -1.0
    if fs < 0.0:
        return -0.5
    if ss < 0.0 and fs > 0.0:
        return 0.25
    return 0.0


def delta_pressure_score(s: ScoreInputs, sign: int) -> float | None:
    flow = s.order_flow
    if flow is None or flow.delta_z is None:
        return None
    z = sign * flow.delta_z
    limit = s.settings.indicators.delta_z
    return -1.0 if z < -limit else 1.0 if z > limit else 0.0


def candle_conviction_score(s: ScoreInputs, sign: int) -> float | None:
    """A conviction bar against the trade −1, or −0.5 when it does not close beyond the
    VWAP against the trade (unknown, or on it to :data:`TOLERANCE`: not beyond); for +1."""
    atr = s.atr_fast
    if atr is None:
        return None
    b = s.fast_bar
    rng = b.high - b.low
    body = b.close - b.open
    ic = s.settings.indicators
    if rng <= 0.0 or abs(body) < ic.candle_body_ratio * rng or rng < ic.candle_range_atr * atr:
        return 0.0
    if sign * body > 0.0:
        return 1.0
    if s.vwap is not None and sign * (b.close - s.vwap) < -TOLERANCE * abs(s.vwap):
        return -1.0
    return -0.5


def weights_for(regime: Regime, settings: DtmsSettings) -> tuple[float, ...]:
    """Base weights × the regime's multipliers, scaled back (if needed) so their sum
    never exceeds the sum of the base weights: |S| ≤ Σ base (10.5) in every regime."""
    base = _tuple(settings.weights)
    w = list(base)
    if regime.structure is Structure.RANGE:
        w = [a * b for a, b in zip(w, _tuple(settings.adaptive.range), strict=True)]
    if regime.volatility is Volatility.HIGH:
        w = [a * b for a, b in zip(w, _tuple(settings.adaptive.high_volatility), strict=True)]
    if regime.session is Session.ASIAN:
        w = [a * settings.adaptive.asian for a in w]
    total, cap = sum(w), sum(base)
    if total > cap > 0.0:
        w = [a * cap / total for a in w]
    return tuple(w)


def _tuple(w: Weights) -> tuple[float, ...]:
    return (
        w.structure,
        w.vwap_volume,
        w.momentum,
        w.ema_alignment,
        w.delta_pressure,
        w.candle_conviction,
    )


_NEW = object.__new__
_SET = object.__setattr__


@dataclass(frozen=True)
class ScoreBreakdown:
    """The score of one (snapshot, direction). Without ``__slots__`` so that the hot path
    (``compute_score``, once per symbol, direction and bar) can build it with one dict
    assignment instead of eight frozen attribute writes."""

    total: float
    subscores: tuple[float, ...]  # in SIGNALS order; a missing signal is 0.0
    weights: tuple[float, ...]
    missing: tuple[str, ...]
    regime: Regime
    confluence: float  # share of the weighted evidence that is against the trade
    confluence_against: bool
    vwap_slope_against: bool

    @property
    def structure(self) -> float:
        return self.subscores[0]

    def reason(self) -> str:
        """The breakdown as one line; built once per breakdown and kept (outside the
        fields, so equality is untouched): a breakdown is shared by every trade of the
        symbol and direction, and each of their actions carries this text."""
        text = self.__dict__.get("_reason")
        if text is None:
            text = self._reason_text()
            _SET(self, "_reason", text)
        return text

    def _reason_text(self) -> str:
        parts = [
            f"{name} {v:+.2f}×{w:.2f}"
            for name, v, w in zip(SIGNALS, self.subscores, self.weights, strict=True)
            if v != 0.0
        ]
        miss = f"; missing {', '.join(self.missing)}" if self.missing else ""
        return (
            f"S={self.total:+.2f} [{', '.join(parts) or 'no evidence'}] "
            f"confluence {self.confluence:.2f} against; {self.regime.label()}{miss}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "subscores": dict(zip(SIGNALS, self.subscores, strict=True)),
            "weights": dict(zip(SIGNALS, self.weights, strict=True)),
            "missing": list(self.missing),
            "regime": self.regime.to_json(),
            "confluence": self.confluence,
            "confluence_against": self.confluence_against,
            "vwap_slope_against": self.vwap_slope_against,
        }


def _signal_subscores(s: ScoreInputs, sign: int) -> tuple[float | None, ...]:
    """Structure, momentum and EMA alignment: they read only signal-timeframe (M15)
    features, so ``SymbolIndicators`` shares them between the fast-bar snapshots of one
    signal bar through ``s.signal_cache``."""
    cache = s.signal_cache
    hit = cache.get(sign)
    if hit is None:
        hit = (structure_score(s, sign), momentum_score(s, sign), ema_alignment_score(s, sign))
        cache[sign] = hit
    return hit


def compute_score(s: ScoreInputs, direction: Direction) -> ScoreBreakdown:
    sign = 1 if direction == "buy" else -1
    weights = s.weights
    st, mo, ema = _signal_subscores(s, sign)
    values = (
        st,
        vwap_volume_score(s, sign),
        mo,
        ema,
        delta_pressure_score(s, sign),
        candle_conviction_score(s, sign),
    )
    subs: list[float] = []
    missing: list[str] = []
    total = against = support = 0.0
    for i in range(6):
        v = values[i]
        if v is None:
            missing.append(SIGNALS[i])
            subs.append(0.0)
            continue
        subs.append(v)
        contribution = weights[i] * v
        total += contribution
        if contribution < 0.0:
            against -= contribution
        else:
            support += contribution
    evidence = against + support
    confluence = against / evidence if evidence > 0.0 else 0.0
    bd = _NEW(ScoreBreakdown)
    _SET(
        bd,
        "__dict__",
        {
            "total": total,
            "subscores": tuple(subs),
            "weights": weights,
            "missing": tuple(missing),
            "regime": s.regime,
            "confluence": confluence,
            "confluence_against": at_least(confluence, s.settings.thresholds.confluence_against),
            "vwap_slope_against": vwap_slope_against(s, sign),
        },
    )
    return bd
