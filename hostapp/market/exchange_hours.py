"""Files whose bars keep an exchange's hours on a clock other than UTC, read as UTC.

A stock's minute bars exported on the exchange's own clock (SPY's, stamped 09:30 to
16:00 New York time, without an offset) are read as UTC when no ``--data-tz`` or
``[host] data_tz`` says otherwise: every bar then sits hours away from when it traded,
and what follows the clock (DTMS's sessions, which label the opening bell "London";
the D1 bars built from them) follows the error. The times alone cannot prove the
clock, so nothing is changed: the run's notes say what the bars look like and which
``--data-tz`` would read them on that clock (docs/architecture.md §8).

What is looked for, in one pass over a file's times (left at the first weekend bar or
once the times of day spread wider than any session: a 24-hour market's file, forex or
crypto, is left within its first day): intraday bars on two weekdays or more, whose
opening times all lie in one exchange's session moved by whole hours (New York's 09:30
to 16:00 read as 09:30 to 16:00, or as 16:30 to 23:00 on a clock seven hours ahead),
the first at its open (or a bar later: bars stamped at their end) and the last within
an hour of its close (a print at the close itself too). Bars written in UTC match only
when the exchange's offset from UTC is that many hours at both ends of the file: then
the times are UTC already, and nothing is said. Daily bars never match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hookspecs import Bar


@dataclass(frozen=True, slots=True)
class Session:
    """An exchange's regular trading hours on its own clock, in minutes after midnight."""

    name: str
    zone: str
    open: int
    close: int


#: the sessions a file's hours are compared with: each its own length, so that no two
#: match one file (Frankfurt's 09:00 to 17:30 would be London's an hour later)
SESSIONS = (
    Session("New York's stock exchanges", "America/New_York", 9 * 60 + 30, 16 * 60),
    Session("the London Stock Exchange", "Europe/London", 8 * 60, 16 * 60 + 30),
)
_DAY = 24 * 60
#: the longest session, in minutes: a file whose times of day spread wider keeps none
_LONGEST = max(s.close - s.open for s in SESSIONS)


def exchange_clock_note(files: Mapping[str, Sequence[Bar]], zone: tzinfo | None) -> str | None:
    """One sentence naming the files whose bars keep an exchange's hours on a clock other
    than UTC (the module's docstring) and the ``--data-tz`` that would read each on it;
    ``None`` when there are none, or when the files were read on a clock other than UTC
    (``zone``: what ``--data-tz`` or ``[host] data_tz`` said; ``None`` for UTC)."""
    if not _is_utc(zone):
        return None
    said = []
    for path, bars in files.items():
        found = _clock_of(bars)
        if found is not None:
            session, hours = found
            clock = session.zone if hours == 0 else f"{session.zone}{hours:+d}"
            said.append(
                f"{path} (every bar opens on a weekday from {_hhmm(session.open, hours)} to "
                f"{_hhmm(session.close, hours)}, the hours of {session.name}: "
                f"--data-tz {clock})"
            )
    if not said:
        return None
    return (
        "bars read as UTC that keep an exchange's hours on another clock: "
        + "; ".join(said)
        + "; if they were written on that clock, replay with that --data-tz (or set [host] "
        "data_tz): read as UTC, each bar is hours away from when it traded, and what follows "
        "the clock (sessions, day boundaries, D1 bars) is off by as much"
    )


def _is_utc(zone: tzinfo | None) -> bool:
    if zone is None:
        return True
    return all(zone.utcoffset(datetime(2024, month, 1)) == timedelta(0) for month in (1, 7))


def _clock_of(bars: Sequence[Bar]) -> tuple[Session, int] | None:
    """The session ``bars`` keep and the hours its clock is moved by, else ``None``."""
    if len(bars) < 2:
        return None
    first = last = bars[0].time.hour * 60 + bars[0].time.minute
    shortest = timedelta(days=1)
    days = {bars[0].time.date()}
    previous = bars[0].time
    for bar in bars:  # one pass: the earliest and latest opening, weekdays, the spacing
        t = bar.time
        if t.weekday() >= 5:
            return None
        minute = t.hour * 60 + t.minute
        first, last = min(first, minute), max(last, minute)
        if last - first > _LONGEST:
            return None
        if t > previous:
            shortest = min(shortest, t - previous)
            previous = t
        if t.date() not in days and len(days) < 2:
            days.add(t.date())
    if shortest >= timedelta(days=1) or len(days) < 2:
        return None
    step = int(shortest.total_seconds() // 60)
    for session in SESSIONS:
        for moved in (first - session.open, first - step - session.open):  # or at their end
            if moved % 60 or not 0 <= session.open + moved < session.close + moved <= _DAY:
                continue
            if not session.close + moved - 60 <= last <= session.close + moved:
                continue
            hours = moved // 60
            if not _utc_already(session, hours, bars[0].time, bars[-1].time):
                return session, hours
    return None


def _utc_already(session: Session, hours: int, start: datetime, end: datetime) -> bool:
    """The exchange's clock is ``hours`` behind UTC at both ends: the times are UTC."""
    local = ZoneInfo(session.zone)
    for time in (start, end):
        offset = time.astimezone(UTC).astimezone(local).utcoffset()
        if offset is None or offset != timedelta(hours=-hours):
            return False
    return True


def _hhmm(minute: int, hours: int) -> str:
    at = (minute + hours * 60) % _DAY
    return f"{at // 60:02d}:{at % 60:02d}"
