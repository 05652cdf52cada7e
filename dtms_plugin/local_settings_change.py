"""The engine settings a store's records were last written under, and the one WARNING at
start-up when this run's differ while trades are open.

Why: a record keeps what was decided under the settings of its time. A HEDGED trade's
flat deadline is fixed when it enters HEDGED, ``actions.flat_bars`` fast bars later
(docs/dtms.md §5): 15 M5 bars are 75 minutes, and after a switch to H1 that deadline
closes the trade a bar and a quarter in, where 15 H1 bars were expected. Deadlines
already set are not recomputed (what the engine decided stands, and the state machine
alone decides them); the trader is told which trades keep what, instead of finding out
from a close.

The settings are kept under one store value (:data:`SETTINGS_KEY`), written at each
start-up: a store written before it existed says nothing the first time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from .engine import TradeRecord
from .settings import DtmsSettings, engine_setting, in_force
from .store import StoreError, StoreProtocol

#: The store value holding the engine settings of the last run that started on it.
SETTINGS_KEY = "engine_settings"


def engine_settings(settings: DtmsSettings) -> dict[str, Any]:
    """The settings the engine decides by (:func:`.settings.engine_setting`), as
    plain data, with the timeframes it uses."""
    out = {k: v for k, v in in_force(settings).items() if engine_setting(k)}
    out.update(fast_timeframe=settings.fast.value, signal_timeframe=settings.signal.value)
    return out


def changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``key before → now`` for each setting that differs (a key only one side has
    counts: a setting added or dropped since)."""
    return [
        f"{key} {_shown(before.get(key))} → {_shown(now.get(key))}"
        for key in sorted(before.keys() | now.keys())
        if before.get(key) != now.get(key)
    ]


def kept(records: Iterable[TradeRecord]) -> list[str]:
    """Each open trade, with the deadlines its record already holds."""
    out = []
    for rec in sorted(records, key=lambda r: r.ticket):
        held = [
            f"{name} deadline {when:%Y-%m-%d %H:%M}"
            for name, when in (("flat", rec.flat_deadline), ("recovery", rec.recovery_deadline))
            if when is not None
        ]
        out.append(f"{rec.ticket} ({', '.join([rec.state.value, *held])})")
    return out


def check_settings(
    store: StoreProtocol, settings: DtmsSettings, live: Iterable[TradeRecord], log: logging.Logger
) -> None:
    """Say once, at WARNING, when open trades' records were written under engine settings
    other than this run's, naming the tickets and what stays as it was; then keep this
    run's settings in the store. A store that cannot be read or written: nothing said
    (the run goes on; the next start-up compares again)."""
    now = engine_settings(settings)
    try:
        before = store.get_value(SETTINGS_KEY)
    except StoreError:
        return
    if before == now:
        return
    trades = [rec for rec in live if rec.is_open]
    if isinstance(before, Mapping) and trades:
        log.warning(
            "DTMS: the records of %d open trades were written under other settings than "
            "this run's (%s): what they already hold stays as it was, deadlines already "
            "set included; this run's settings decide from now on (a deadline not wanted: "
            "start with the earlier settings until it passes, or close the trade): %s",
            len(trades), "; ".join(changes(before, now)), ", ".join(kept(trades)),
        )  # fmt: skip
    try:
        store.put_value(SETTINGS_KEY, now)
    except StoreError:
        log.debug("DTMS: the engine settings could not be kept in the store")


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    return f'"{value}"' if isinstance(value, str) else repr(value)
