"""What DTMS worked without in a run, said in its report: the signals its scores lacked,
the spread history its spread rail lacked, and the per-symbol settings a symbol had no
entry in (docs/dtms.md §3: its VWAP slope threshold then starts from the default base,
which a symbol replayed under an unknown name, ``SPY_us``, took without a word).

A missing signal scores 0 (docs/dtms.md §4), so a run on bars without volume (no session
VWAP) or with too little history (indicators with no value yet) still runs, with a score
that can never reach the weight of what is missing. The spread rail (§7) does not block
without spread history, so on bars without a spread it never holds a hedge back. Both are
counted and said in words, instead of staying in the reason of each transition.

Order flow is optional (docs/dtms.md §1): ``delta_pressure`` without any is expected and
not counted; with order flow but no delta z yet, it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hookspecs import Action, ActionKind

from .engine import ScoreBreakdown, SignalSnapshot, base_symbol
from .settings import DtmsSettings

_DELTA = "delta_pressure"
#: the fewest scorings a warning about missing signals is given on
WARN_FROM_SCORINGS = 10
#: the actions the spread rail may hold back (docs/dtms.md §7)
_RAILED = (ActionKind.HEDGE, ActionKind.RE_ADD)


@dataclass(slots=True)
class _Volume:
    """The fast bars of one symbol that trades were scored on: how many carried no
    volume and how many did, and since when every one did (``None`` while the last
    one counted carried none)."""

    without: int = 0
    with_: int = 0
    last: datetime | None = None
    since: datetime | None = None

    def count(self, time: datetime, volume: float) -> None:
        if time == self.last:  # several trades scored on one bar: the bar counts once
            return
        self.last = time
        if volume > 0.0:
            self.with_ += 1
            self.since = self.since or time
        else:
            self.without += 1
            self.since = None


class BlindSpots:
    """The counts behind the sentence: scorings, per signal how many lacked it, and the
    hedges and re-adds sent with no spread history to judge them by."""

    __slots__ = (
        "_fast",
        "_log",
        "_needs",
        "_regime",
        "_symbols",
        "_unjudged_on",
        "_volume",
        "_where",
        "_why",
        "missing",
        "scorings",
        "unjudged",
    )

    def __init__(self, settings: DtmsSettings, log: logging.Logger | None = None) -> None:
        fast, signal = settings.fast.value, settings.signal.value
        self._fast = fast
        self._log = log
        #: why each signal can have no value, in the order of the score's signals
        self._why = {
            "structure": f"no confirmed swing on the {signal} bars yet",
            "vwap_volume": f"no session VWAP: the {fast} bars carry no volume",
            "momentum": f"RSI and MACD had not seen enough {signal} bars yet",
            "ema_alignment": f"the EMA slopes had not seen enough {signal} bars yet",
            _DELTA: "order flow without a delta z yet",
            "candle_conviction": f"the {fast} ATR had not seen enough bars yet",
        }
        ind = settings.indicators
        momentum = max(ind.macd_slow + ind.macd_signal + ind.macd_trend_bars, ind.rsi_period + 1)
        emas = ind.ema_slow + ind.ema_slope_bars
        #: what history gives each signal a value, said when most scores lacked it
        self._needs = {
            "structure": f"{2 * ind.swing_side_bars + 1} {signal} bars and a swing",
            "vwap_volume": f"{fast} bars with volume",
            "momentum": f"about {momentum} {signal} bars before a trade",
            "ema_alignment": f"about {emas} {signal} bars before a trade",
            _DELTA: "order flow with history",
            "candle_conviction": f"{ind.atr_period + 1} {fast} bars before a trade",
        }
        self.scorings = 0
        self.missing: dict[str, int] = {}
        self.unjudged = 0
        #: the symbols each count came from, in the order first seen (ordered sets)
        self._where: dict[str, dict[str, None]] = {}
        self._unjudged_on: dict[str, None] = {}
        self._regime = settings.regime
        #: the symbols scored, in the order first seen
        self._symbols: dict[str, None] = {}
        #: per symbol, the volume of the fast bars scored on (a file whose volume starts
        #: years in, as an index's daily history, lacks a VWAP only until it does)
        self._volume: dict[str, _Volume] = {}

    def scored(self, score: ScoreBreakdown, snapshot: SignalSnapshot | None) -> None:
        """One scoring of one trade (every trade scored on a bar counts once)."""
        self.scorings += 1
        if snapshot is not None:
            self._symbols.setdefault(snapshot.symbol)
            bar = snapshot.fast_bar
            self._volume.setdefault(snapshot.symbol, _Volume()).count(bar.time, bar.volume)
        for name in score.missing:
            if name == _DELTA and (snapshot is None or snapshot.order_flow is None):
                continue
            self.missing[name] = self.missing.get(name, 0) + 1
            symbols = self._where.setdefault(name, {})
            symbol = snapshot.symbol if snapshot is not None else "?"
            if symbol not in symbols:
                symbols[symbol] = None
                if self._log is not None:  # said once; the report counts them all
                    self._log.info(
                        "DTMS %s: a score without %s (%s); it counts 0, and the run's report "
                        "says how often",
                        symbol,
                        name,
                        self._why[name],
                    )

    def _why_of(self, name: str) -> str:
        """Why ``name`` had no value, as the report says it: for ``vwap_volume`` on bars
        of which some carry volume, how many of those scored on carry none per symbol,
        and from when on all do (the VWAP is used wherever a session has volume)."""
        if name != "vwap_volume":
            return self._why[name]
        told = []
        for symbol in self._where.get(name, {}):
            vol = self._volume.get(symbol)
            if vol is None or not vol.with_ or not vol.without:
                continue
            said = (
                f"{vol.without:,} of the {vol.without + vol.with_:,} {self._fast} bars of "
                f"{symbol} scored on carry no volume"
            )
            if vol.since is not None:
                said += f", every one from {_day(vol.since)} on does"
            told.append(said)
        if not told:
            return self._why[name]
        return "no session VWAP where the bars carry no volume: " + "; ".join(told)

    def sent(self, action: Action, snapshot: SignalSnapshot | None) -> None:
        """An action about to go to the broker: a hedge or re-add the spread rail had
        no spread history to judge is counted."""
        if action.kind in _RAILED and (snapshot is None or snapshot.median_spread is None):
            self.unjudged += 1
            self._unjudged_on[snapshot.symbol if snapshot is not None else "?"] = None

    def sentences(self) -> list[str]:
        """What to say; empty when nothing was missing."""
        out = []
        if self.missing:
            parts = []
            for name in self._why:
                n = self.missing.get(name)
                if n:
                    on = ", ".join(self._where[name])
                    parts.append(
                        f"{name} {self._times(n, self.scorings)} on {on} ({self._why_of(name)})"
                    )
            times = "once" if self.scorings == 1 else f"{self.scorings:,} times"
            out.append(
                f"scored trades {times}, some without a signal (which then scores 0): "
                + "; ".join(parts)
            )
        defaults = self.defaults()
        if defaults is not None:
            out.append(defaults)
        if self.unjudged:
            on = ", ".join(self._unjudged_on)
            out.append(
                f"sent {self.unjudged:,} hedge(s) or re-add(s) on {on} that the spread rail "
                f"could not judge (the {self._fast} bars carry no spread)"
            )
        return out

    def defaults(self) -> str | None:
        """The scored symbols that took a default for want of an entry in a per-symbol
        table (docs/dtms.md §3, §10): the VWAP slope base (a JPY pair has its own), and
        the range width when that table names some symbols; ``None`` when none did."""
        rg = self._regime
        plain = [
            s
            for s in self._symbols
            if base_symbol(s) not in rg.vwap_slope_base
            and not (len(base_symbol(s)) == 6 and base_symbol(s).endswith("JPY"))
        ]
        said = []
        if plain:
            said.append(
                f"{', '.join(plain)} with regime.vwap_slope_default ({rg.vwap_slope_default:g}) "
                "as the VWAP slope base: regime.vwap_slope_base has no entry for "
                f"{'it' if len(plain) == 1 else 'them'}"
            )
        widths = rg.range_width_by_symbol
        unnamed = [s for s in self._symbols if widths and base_symbol(s) not in widths]
        if unnamed:
            said.append(
                f"{', '.join(unnamed)} with regime.range_width ({rg.range_width:g}): "
                "regime.range_width_by_symbol has no entry for "
                f"{'it' if len(unnamed) == 1 else 'them'}"
            )
        if not said:
            return None
        return f"scored {'; and '.join(said)} ([plugin.dtms.regime] tables set one by symbol)"

    def warning(self) -> str | None:
        """A sentence for the top of the run's summary when a signal was missing from most
        scores (more than half, over ten scorings at least): the figures below it come
        from a ladder that could not reach the weight of what was missing, which a note
        under the table leaves too easy to miss (H4 or D1 files too short for the EMAs)."""
        if self.scorings < WARN_FROM_SCORINGS:
            return None
        most = [(name, n) for name, n in self.missing.items() if n * 2 > self.scorings]
        if not most:
            return None
        parts = [
            f"{name} in {n:,} of {self.scorings:,} ({self._why_of(name)}; it needs "
            f"{self._needs[name]})"
            for name, n in most
        ]
        return (
            "DTMS scored most trades without "
            + "; and without ".join(parts)
            + ": a missing signal scores 0, so its figures below come from a weaker ladder"
        )

    def summary(self) -> dict[str, Any]:
        """The counts and the sentences, as plain data (the run's report, the server's
        ``/dtms/status``)."""
        said = self.sentences()
        return {
            "scorings": self.scorings,
            "missing_signals": dict(self.missing),
            "hedges_without_spread": self.unjudged,
            "note": "; and ".join(said) if said else None,
        }

    @staticmethod
    def _times(n: int, of: int) -> str:
        return "every time" if n == of else "once" if n == 1 else f"{n:,} times"


def _day(time: datetime) -> str:
    """A bar's time as a note says it: its day alone when it opens at midnight."""
    return f"{time:%Y-%m-%d}" if (time.hour, time.minute) == (0, 0) else f"{time:%Y-%m-%d %H:%M}"
