"""When a live run tries a plugin its breaker switched off again (docs/architecture.md §4,
"Breaker").

Why a live run does and a replay does not: a replay is deterministic, so a plugin that
failed five times in a row there fails the same way again, and its run's notes say it was
switched off. A live host (``hostapp run --live``, ``hostapp serve``) runs for weeks, and
five failures in a row may be a network blip: switched off for good, a defender made
every trade count as defended (the exit manager left them all alone) and a risk guard
vetoed every entry until someone restarted the host. So there a tripped plugin is
switched back on after a cool-down of the wall clock (``[host] breaker_retry_seconds``),
doubled after each retry that fails, up to :data:`LONGEST_WAIT`.

The cool-down is the wall clock's (monotonic), whatever the run's clock: a paper run's
clock is the data's time, and a serving host's the newest quote of an account another
host drives, which stands still while that host is stopped.
"""

from __future__ import annotations

#: The longest cool-down between two retries, seconds (unless ``breaker_retry_seconds``
#: itself is longer): a plugin down for a day is still tried once an hour.
LONGEST_WAIT = 3600.0
#: The doublings past which the wait is at its longest anyway: keeps ``2 ** n`` a float.
_MOST_DOUBLINGS = 32


def cool_down(first: float, failed_retries: int) -> float:
    """Seconds to wait before the next retry, after ``failed_retries`` retries of this
    episode failed: ``first``, doubled after each, at most :data:`LONGEST_WAIT` (or
    ``first`` when that is longer)."""
    longest = max(first, LONGEST_WAIT)
    return min(first * 2.0 ** min(failed_retries, _MOST_DOUBLINGS), longest)


class Retry:
    """One episode of a plugin switched off by its breaker in a live run: from the trip
    until a retry in which its hooks answer. Times are the wall clock's (monotonic)."""

    __slots__ = ("answered", "due", "first", "off_since", "on_trial", "retries", "trial_until")

    def __init__(self, first: float, now: float) -> None:
        #: ``[host] breaker_retry_seconds``: the first cool-down
        self.first = first
        #: when the episode began (its first trip)
        self.off_since = now
        #: the retries made in this episode (each but the last one failed)
        self.retries = 0
        #: switched back on, and not yet through a cycle in which its hooks answered
        self.on_trial = False
        #: a hook of the plugin answered since the retry began
        self.answered = False
        #: when the next retry is due
        self.due = now + first
        #: a retry's trial ends by then without a failure, answered or not
        self.trial_until = now

    def switched_off(self, now: float) -> float:
        """The plugin was switched off (its trip, or a retry that failed): the next
        retry is due after the cool-down it returns."""
        wait = cool_down(self.first, self.retries)
        self.due = now + wait
        self.on_trial = self.answered = False
        return wait

    def try_again(self, now: float) -> None:
        """The cool-down is over: the plugin is switched back on for its hooks, on trial
        until one of them answers, or for ``first`` seconds without a failure (a plugin
        whose hooks come only with an order or an action may hear none for hours: on
        trial all that time, one failure would have switched it off again)."""
        self.retries += 1
        self.on_trial, self.answered = True, False
        self.trial_until = now + self.first

    def trial_over(self, now: float) -> bool:
        """On trial, and a hook answered or ``first`` seconds passed without a failure."""
        return self.on_trial and (self.answered or now >= self.trial_until)
