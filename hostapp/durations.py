"""The longest duration a user may set: ``[host] cycle_seconds``, a plugin's
``timeout_seconds``, the delays of ``[host.mt5]`` and ``--monitor-seconds`` alike.

A day is far longer than any of them needs (a cycle, a timeout, a retry's wait), and far
shorter than what breaks the clock's arithmetic: ``cycle_seconds = 1e300`` passed the
check "a number > 0" and ended a live run in an OverflowError (a ``timedelta`` of it),
``inf`` would wait for ever and NaN fail at the first sleep. So each is checked as more
than 0 (or at least 0 where 0 means none) and at most :data:`MAX_SECONDS`, one line naming
the key, like every other mistake in plugins.toml.
"""

from __future__ import annotations

#: a day, in seconds
MAX_SECONDS = 86_400
#: how the messages say it
AT_MOST = f"at most {MAX_SECONDS:,} (a day)"


def is_duration(value: object, *, zero: bool = False) -> bool:
    """Whether ``value`` is a number of seconds more than 0 (at least 0 with ``zero``) and
    at most :data:`MAX_SECONDS`; NaN, infinities and booleans are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (value >= 0 if zero else value > 0) and value <= MAX_SECONDS


def duration_text(seconds: float) -> str:
    """A span of time as a reader takes it in, one way in every line of the host: ``45 s``
    (under two minutes), ``12 min``, ``2 h``, ``2 h 30 min`` (whole minutes, rounded
    down)."""
    whole = round(seconds)
    if whole < 120:
        return f"{whole} s"
    hours, mins = divmod(whole // 60, 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"
