"""A replay host over XAUUSD bars at given closes with only the plugins a test names: the
exit manager's tests build their runs through it."""

from __future__ import annotations

from typing import Any

from hookspecs import OrderRequest, hookimpl
from hostapp.testing import bars_from_closes


def gold_replay(
    closes: list[float], *, tables: dict[str, Any] | None = None, **builtins: object
) -> Any:
    """A replay host over XAUUSD bars at ``closes`` with only ``builtins`` as plugins,
    and ``tables`` as their ``[plugin.NAME]`` tables."""
    from hostapp.app import build_sim_app
    from hostapp.config import config_from_dict

    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}, "plugin": tables or {}})
    series = {"XAUUSD": bars_from_closes(closes)}
    return build_sim_app(
        config, series, base_timeframe="M5", builtins=builtins, entry_points=[], env={}
    )


class BuyOnce:
    """Opens one buy of ``volume`` with a 10-point stop at the first chance."""

    def __init__(self, volume: float = 0.1) -> None:
        self.volume = volume
        self.done = False

    @hookimpl
    def propose_orders(self, symbol: str) -> list[OrderRequest]:
        if self.done:
            return []
        self.done = True
        return [OrderRequest(symbol, "buy", self.volume, stop_loss=1990.0, comment="buy once")]
