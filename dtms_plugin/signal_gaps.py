"""What DTMS scored without: how often a trade's score lacked one of its signals, and why.

A missing signal scores 0 (docs/dtms.md §4), so a run on bars without volume (no session
VWAP) or with too little history (indicators with no value yet) still runs, with a score
that can never reach the weight of what is missing. The run's report says so in words,
with counts, instead of leaving it in the reason of each transition.

Order flow is optional (docs/dtms.md §1): ``delta_pressure`` without any is expected and
not counted; with order flow but no delta z yet, it is.
"""

from __future__ import annotations

from .engine import ScoreBreakdown, SignalSnapshot
from .settings import DtmsSettings

_DELTA = "delta_pressure"


class SignalGaps:
    """The counts behind the sentence: scorings, and per signal how many lacked it."""

    __slots__ = ("_why", "missing", "scorings")

    def __init__(self, settings: DtmsSettings) -> None:
        fast, signal = settings.fast.value, settings.signal.value
        #: why each signal can have no value, in the order of the score's signals
        self._why = {
            "structure": f"no confirmed swing on the {signal} bars yet",
            "vwap_volume": f"no session VWAP: the {fast} bars carry no volume",
            "momentum": f"RSI and MACD had not seen enough {signal} bars yet",
            "ema_alignment": f"the EMA slopes had not seen enough {signal} bars yet",
            _DELTA: "order flow without a delta z yet",
            "candle_conviction": f"the {fast} ATR had not seen enough bars yet",
        }
        self.scorings = 0
        self.missing: dict[str, int] = {}

    def count(self, score: ScoreBreakdown, snapshot: SignalSnapshot | None) -> None:
        """One scoring of one trade (every trade scored on a bar counts once)."""
        self.scorings += 1
        for name in score.missing:
            if name == _DELTA and (snapshot is None or snapshot.order_flow is None):
                continue
            self.missing[name] = self.missing.get(name, 0) + 1

    def sentence(self) -> str | None:
        """``None`` when every scoring had every signal it could have."""
        if not self.missing:
            return None
        parts = []
        for name, why in self._why.items():
            n = self.missing.get(name)
            if n:
                times = "every time" if n == self.scorings else "once" if n == 1 else f"{n:,} times"
                parts.append(f"{name} {times} ({why})")
        return (
            f"scored trades {self.scorings:,} times, some without a signal (which then scores 0): "
            + "; ".join(parts)
        )
