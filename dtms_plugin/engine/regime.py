"""The market regime of docs/dtms.md §3: session, volatility and structure labels and the
thresholds they set.

The labels are enums and every factor table is looked up by the enum's value, so a
misspelt label fails loudly at start-up (``check_tables``) instead of silently missing a
lookup as in the original DTMS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..settings import DtmsSettings


class Session(StrEnum):
    ASIAN = "ASIAN"
    LONDON = "LONDON"
    OVERLAP = "OVERLAP"
    NY = "NY"
    #: a fast bar longer than H1 spans sessions: no session multiplier applies (1.0)
    NONE = "NONE"


class Volatility(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"


class Structure(StrEnum):
    RANGE = "RANGE"
    TREND = "TREND"


# UTC hour -> session: Asian [0, 8), London [8, 13), Overlap [13, 16), NY [16, 21), Asian [21, 24)
_SESSION_BY_HOUR: tuple[Session, ...] = tuple(
    Session.ASIAN
    if h < 8 or h >= 21
    else Session.LONDON
    if h < 13
    else Session.OVERLAP
    if h < 16
    else Session.NY
    for h in range(24)
)


def session_at(hour: int, session_aware: bool = True) -> Session:
    """The session of a UTC hour; :attr:`Session.NONE` when the fast timeframe is coarser
    than H1 (``session_aware`` False), where a bar spans several sessions."""
    return _SESSION_BY_HOUR[hour] if session_aware else Session.NONE


def volatility_of(atr_ratio: float | None, settings: DtmsSettings) -> Volatility:
    """``atr_ratio`` unknown (warm-up) counts as normal volatility."""
    if atr_ratio is None:
        return Volatility.NORMAL
    if atr_ratio < settings.regime.atr_ratio_low:
        return Volatility.LOW
    if atr_ratio > settings.regime.atr_ratio_high:
        return Volatility.HIGH
    return Volatility.NORMAL


_MARK_HEAD = re.compile(r"^[^A-Za-z0-9]+")  # #EURUSD, .EURUSD, _EURUSD
_SUFFIX = re.compile(r"[._\-].*$")
_MARK_TAIL = re.compile(r"[^A-Za-z0-9]+$")  # EURUSD+, EURUSD#
_LOWER_TAIL = re.compile(r"[a-z]+$")
#: a 6-letter name followed by a known account-type suffix, whatever its case
_KNOWN_TAIL = re.compile(r"([A-Z]{6})(?:MICRO|ECN|PRO|M|C|X)")
#: a crypto pair quoted in a dollar stablecoin: BTCUSDT, ETHUSDC
_STABLE_QUOTE = re.compile(r"^([A-Z]{3,})USD[TC]$")


def base_symbol(symbol: str) -> str:
    """``XAUUSDc`` → ``XAUUSD``, ``EURUSD.m`` → ``EURUSD``, ``gbpusd`` → ``GBPUSD``,
    ``EURUSD+`` / ``EURUSD#`` / ``#EURUSD`` / ``.EURUSD`` → ``EURUSD``, ``eurusdm`` /
    ``GBPUSDECN`` → the 6 letters, ``BTCUSDT`` / ``BTCUSDC`` → ``BTCUSD`` (a stablecoin
    quote moves as the dollar, so the pair takes the dollar pair's thresholds). Digits
    stay (``US30``, ``NAS100``)."""
    s = _MARK_TAIL.sub("", _SUFFIX.sub("", _MARK_HEAD.sub("", symbol.strip())))
    if not s.islower():
        s = _LOWER_TAIL.sub("", s)
    s = s.upper()
    m = _KNOWN_TAIL.fullmatch(s)
    return m.group(1) if m else _STABLE_QUOTE.sub(r"\1USD", s)


def structure_of(bb_width: float | None, symbol: str, settings: DtmsSettings) -> Structure:
    """No Bollinger width yet counts as TREND (the neutral weights)."""
    if bb_width is None:
        return Structure.TREND
    limit = settings.regime.range_width_by_symbol.get(
        base_symbol(symbol), settings.regime.range_width
    )
    return Structure.RANGE if bb_width < limit else Structure.TREND


def vwap_slope_base(symbol: str, settings: DtmsSettings) -> float:
    base = base_symbol(symbol)
    table = settings.regime.vwap_slope_base
    if base in table:
        return table[base]
    if len(base) == 6 and base.endswith("JPY"):
        return settings.regime.vwap_slope_jpy
    return settings.regime.vwap_slope_default


@dataclass(frozen=True, slots=True)
class Regime:
    session: Session
    volatility: Volatility
    structure: Structure
    vwap_threshold: float
    rsi_threshold: float

    def to_json(self) -> dict[str, object]:
        return {
            "session": self.session.value,
            "volatility": self.volatility.value,
            "structure": self.structure.value,
            "vwap_threshold": self.vwap_threshold,
            "rsi_threshold": self.rsi_threshold,
        }

    def label(self) -> str:
        return f"{self.session}/{self.volatility}/{self.structure}"  # StrEnums: their values


def classify(
    symbol: str,
    hour: int,
    atr_ratio: float | None,
    bb_width: float | None,
    settings: DtmsSettings,
) -> Regime:
    rg = settings.regime
    session = session_at(hour, settings.session_aware)
    vol = volatility_of(atr_ratio, settings)
    struct = structure_of(bb_width, symbol, settings)
    base = vwap_slope_base(symbol, settings)
    raw = (
        base
        * rg.session_factor.get(session.value, 1.0)
        * rg.volatility_factor[vol.value]
        * rg.structure_factor[struct.value]
    )
    threshold = min(max(raw, rg.slope_clamp_low * base), rg.slope_clamp_high * base)
    rsi = rg.rsi_threshold_low_vol if vol is Volatility.LOW else rg.rsi_threshold
    return Regime(session, vol, struct, threshold, rsi)


def check_tables(settings: DtmsSettings) -> None:
    """Raise ``ValueError`` naming the table when a factor table misses a label."""
    rg = settings.regime
    for name, table, labels in (
        ("session_factor", rg.session_factor, Session),
        ("volatility_factor", rg.volatility_factor, Volatility),
        ("structure_factor", rg.structure_factor, Structure),
    ):
        missing = [lab.value for lab in labels if lab.value not in table]
        if labels is Session:
            missing.remove(Session.NONE.value)  # optional: 1.0 unless set
        extra = [k for k in table if k not in {lab.value for lab in labels}]
        if missing or extra:
            raise ValueError(
                f"regime.{name}: labels must be exactly "
                f"{', '.join(lab.value for lab in labels)} (missing {missing}, unknown {extra})"
            )
