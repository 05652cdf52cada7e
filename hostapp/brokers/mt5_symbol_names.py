"""The host's symbols checked against the trade server's names at connect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookspecs import BrokerError


def check_on_server(api: Any, symbols: Sequence[str]) -> None:
    """Every symbol the host is to trade must be on the trade server, spelled as the
    server spells it: a missing one would fail every cycle's bars (and leave every
    position undefended), so it is refused now (a BrokerError), with the server's names
    that contain it (brokers add suffixes: ``XAUUSDm``, ``EURUSD.m``)."""
    missing = [s for s in symbols if api.symbol_info(s) is None]
    if not missing:
        return
    listed = api.symbols_get() or ()
    names = sorted(str(x.name) for x in listed)
    said = []
    for symbol in missing:
        alike = [n for n in names if symbol.lower() in n.lower()][:5]
        hint = f" (the server has {', '.join(alike)})" if alike else ""
        said.append(f"{symbol}{hint}")
    raise BrokerError(
        f"[host] symbols: not on this trade server: {'; '.join(said)}; name them as "
        f"the terminal's Market Watch does"
    )
