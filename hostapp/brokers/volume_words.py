"""How both brokers' results name a volume the symbol's step made smaller: the MetaTrader
adapter and the paper broker floor a volume to ``volume_step`` (never trading more than
asked, where MetaTrader refuses a volume off the step with 10014 invalid volume), and
their messages say the volume traded with the one asked beside it, in the same words."""

from __future__ import annotations


def asked_words(traded: float, asked: float, step: float) -> str:
    """What a message adds after the volume it traded when the step made it smaller than
    the one asked (`` (asked 0.019: the volume step 0.01 rounds it down)``), else
    nothing: a message never names only a volume that was not traded."""
    if abs(traded - asked) < 1e-9:
        return ""
    return f" (asked {asked:g}: the volume step {step:g} rounds it down)"
