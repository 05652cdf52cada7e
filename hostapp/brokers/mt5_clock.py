"""The trade server's UTC offset, dated from fresh ticks only (docs/mt5.md, "Times are UTC").

A tick's ``time`` is the server's wall clock, so ``tick time - UTC now`` is the offset minus
the tick's age. One read cannot tell the two apart: a tick 50 minutes old on a quiet symbol
looks like an offset 50 minutes smaller, and rounding turns that into a wrong hour. A tick
*seen to change* between two reads at most :data:`MAX_TICK_AGE` seconds apart is at most
that old, far below the 15 minutes that rounding to half an hour absorbs. So the offset is
taken only from such a tick; at start-up the ticks are watched for up to
``offset_probe_seconds``, and while running every tick read keeps the offset current
(a broker's DST change shifts it by an hour).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hookspecs import BrokerError

HALF_HOUR = 1800
MAX_OFFSET = 14 * 3600
#: The oldest a tick may be to date the server clock, in seconds.
MAX_TICK_AGE = 300.0
#: Seconds between two reads of the ticks while probing at start-up.
PROBE_INTERVAL = 1.0


def tick_msc(tick: Mapping[str, Any]) -> int:
    """The tick's server time in milliseconds (``time_msc``, else ``time``)."""
    return int(tick.get("time_msc") or 0) or int(tick.get("time") or 0) * 1000


def offset_from(server_msc: int, now: datetime) -> int | None:
    """The offset a fresh tick implies, rounded to half an hour; ``None`` beyond ±14 h."""
    diff = server_msc / 1000 - now.timestamp()
    offset = round(diff / HALF_HOUR) * HALF_HOUR
    return int(offset) if abs(offset) <= MAX_OFFSET else None


@dataclass
class ClockWatch:
    """Remembers each symbol's last tick and when it was read; a tick that changed since a
    read at most :data:`MAX_TICK_AGE` ago is fresh and dates the server clock."""

    offset: int | None = None
    sampled_at: datetime | None = None
    _seen: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    def observe(self, symbol: str, tick: Mapping[str, Any], now: datetime) -> int | None:
        """Record a read; returns the offset when this tick proves fresh (and keeps it)."""
        msc = tick_msc(tick)
        before = self._seen.get(symbol)
        self._seen[symbol] = (msc, now)
        if msc <= 0 or before is None or msc <= before[0]:
            return None
        if (now - before[1]).total_seconds() > MAX_TICK_AGE:
            return None
        offset = offset_from(msc, now)
        if offset is not None:
            self.offset, self.sampled_at = offset, now
        return offset


def probe(
    watch: ClockWatch,
    names: Sequence[str],
    read: Callable[[str], object],
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    seconds: float,
) -> int:
    """Read the ticks of ``names`` every second until one proves fresh (``read`` hands
    each tick to ``watch.observe``). Raises one line naming the setting when none does
    within ``seconds``."""
    waited = 0.0
    start = watch.sampled_at
    while True:
        for name in names:
            read(name)  # the reader passes every tick to ``watch``
            if watch.sampled_at is not None and watch.sampled_at != start:
                return int(watch.offset or 0)
        if waited >= seconds:
            break
        sleep(PROBE_INTERVAL)
        waited += PROBE_INTERVAL
    shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
    raise BrokerError(
        f"cannot date the trade server's clock: no fresh tick on {shown or 'any symbol'} "
        f"within {seconds:g} s (market closed or symbols quiet); set "
        "server_utc_offset_minutes in [host.mt5] (e.g. 120 for a UTC+2 server)"
    )


def _configured(offset: int, zone: str) -> str:
    """The setting a tick is checked against, as the warning names it."""
    if zone:
        return f'[host.mt5] server_timezone = "{zone}" ({offset // 60:+d} minutes from UTC now)'
    return f"[host.mt5] server_utc_offset_minutes = {offset // 60}"


def _advice(minutes: int, zone: str) -> str:
    if zone:
        return f"set the server's zone (its clock is {minutes:+d} minutes from UTC now)"
    return f"set {minutes}"


def implausible_offset(
    symbol: str, msc: int, offset: int, now: datetime, zone: str = ""
) -> str | None:
    """A configured ``server_utc_offset_minutes`` that a tick proves wrong, in words for a
    warning; ``None`` while it is plausible. A tick read with too small an offset lies in
    the future, which no tick can, whatever its age: past a quarter of an hour, the server's
    clock is at least that much further ahead (docs/mt5.md, "Times are UTC"). Every time
    read from the terminal is then off by as much: bars, positions' open times, the ages a
    plugin arms on (DTMS's arming never came)."""
    ahead = msc / 1000 - offset - now.timestamp()
    if ahead <= HALF_HOUR / 2:
        return None
    least = (offset + round(ahead / HALF_HOUR) * HALF_HOUR) // 60
    return (
        f"{_configured(offset, zone)} looks wrong: {symbol}'s last "
        f"tick, read with it, is {ahead / 60:.0f} minutes in the future, so the server's "
        f"clock is at least {least:+d} minutes from UTC; every time read from the terminal "
        f"is off by as much: {_advice(least, zone)}, or leave the key out to have it detected"
    )


def offset_differs(configured: int, fresh: int, zone: str = "") -> str:
    """The words for a fresh tick (:class:`ClockWatch`) that dates the server's clock
    otherwise than the configured offset or zone, which is never re-checked."""
    return (
        f"{_configured(configured, zone)}, but a fresh tick dates "
        f"the server's clock at {fresh // 60:+d} minutes from UTC: every time read from the "
        f"terminal is off by {(fresh - configured) // 60:+d} minutes; "
        f"{_advice(fresh // 60, zone)}, or "
        "leave the key out to have it detected (and re-checked, as at summer time)"
    )
