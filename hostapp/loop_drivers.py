"""When the trading loop runs a cycle: a replay as fast as it goes (or at a pace), a replay
on a scaled clock (``--speed``), or real time against a live terminal.

:class:`hostapp.loop.TradingLoop` decides what one cycle does (docs/architecture.md,
"One cycle"); the drivers here decide when cycles happen and with which bars, and how a
stop request ends the waiting between them. They are a mixin of the loop, not functions
of their own, so ``loop.run_replay(feed)`` and ``loop.request_stop()`` stay the loop's
API; the mixin adds no call between a driver and :meth:`~hostapp.loop.TradingLoop.cycle`,
which a replay calls once per bar. Startup, signals and the summary around a run are
:mod:`hostapp.driving`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

from hookspecs import Bar, BrokerError, HostView, Timeframe

from .durations import duration_text
from .errors import AccountChanged
from .logs import TERMINAL
from .loop_stats import LoopStats
from .market.timeframes import from_epoch, timeframe_seconds, to_epoch

ProgressFn = Callable[[int, int], None]
#: A scaled run says when its data pauses for more than this many base bars (a weekend)
GAP_BARS = 3


class LoopClock(Protocol):
    """A :class:`~hostapp.clock.SimClock` (replay: the loop sets it) or the system clock."""

    def now(self) -> datetime: ...


class ScaledLoopClock(LoopClock, Protocol):
    """A :class:`~hostapp.clock.ScaledClock`: its own pace, which the loop waits in,
    once the loop has caught up on the history before ``live_from``."""

    live_from: datetime

    def go(self) -> None: ...

    def wait_at(self, t: datetime | None) -> None: ...

    def wall_seconds(self, seconds: float) -> float: ...


class HostBarCloses:
    """Whether a host-timeframe bar closed by each step of a replay. A step is the close
    of a base bar, so it belongs to the bucket of the instant before it: a step on a
    bucket's boundary completes that bucket (a host bar closes), and the next step opens
    the next one. A bucket that ends in a gap of the data (a weekend, a holiday) counts
    at the first step after it, when the feed shows its bar. A step on a boundary leaves
    no bucket open: the empty bucket after it (Friday's last bar closing on Saturday's
    00:00, the next on Monday 01:00) is no bar, and its "end" in the gap must not ask for
    orders again on the bars already asked on. Buckets are
    :class:`hookspecs.Timeframe`'s (weeks open on Sunday, months on the 1st), as the
    feed's resampled bars are. ``zone``: the data's clock, which the feed builds its
    coarser bars on.

    ``base_seconds``: the base bars' period. A base bar belongs to the bucket it opens
    in, as the resampler counts it (:mod:`hostapp.market.resample`); a bar that opens
    before a boundary and closes after it (an H4 bar of 20:00 UTC, a day on the "New
    York close" clock ending at 21:00) completes its bucket when it closes. Taken from
    the instant before the step, that bar opened the bucket after the boundary too, whose
    "end" fell in the weekend: Monday's first step asked for orders again on Friday's
    bar, and a cross was opened twice."""

    __slots__ = ("_base", "_end", "_tf", "_zone")

    def __init__(self, timeframe: str, zone: tzinfo | None = None, base_seconds: int = 0) -> None:
        self._tf = Timeframe.parse(timeframe)
        self._zone = zone
        self._base = base_seconds
        #: the end of the bucket the previous step was in while it is still to be said
        #: closed, or None (none yet, or the previous step completed its bucket)
        self._end: datetime | None = None

    def __call__(self, now: datetime) -> bool:
        end = self._end
        if end is not None and now < end:
            return False
        t = to_epoch(now)
        tf = self._tf
        opened = t - self._base if self._base else t - 1  # the bar's own bucket
        bucket_end = tf.next_epoch(tf.bucket_epoch(opened, self._zone), self._zone)
        if bucket_end <= t:  # the bar completes its bucket (at, or past, its boundary)
            self._end = None
            return True
        self._end = from_epoch(bucket_end)
        return end is not None


class LoopDrivers:
    """The drivers of :class:`hostapp.loop.TradingLoop`, which sets every attribute
    declared here in its constructor and defines :meth:`cycle`."""

    host: HostView
    symbols: list[str]
    stats: LoopStats
    stop_requested: bool
    resume_from: datetime | None
    timeframe: str
    _tf_seconds: int
    # The event a waiting driver sleeps on, and the event loop it runs in: a stop request
    # (maybe from a signal handler) sets the one through the other.
    _wake: asyncio.Event | None
    _aio: asyncio.AbstractEventLoop | None
    cycle: Callable[[datetime, Mapping[str, Bar], bool], Awaitable[None]]
    #: A reconnect of the skip episode going on was said: a terminal that connects but
    #: still fails the cycle is not said to be back at every try.
    _reconnect_said: bool = False
    #: When (``_wall``, seconds) the skip episode going on last tried to reconnect.
    _reconnect_tried: float | None = None
    _wall: Callable[[], float] = staticmethod(time.monotonic)

    # -- control -----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the loop to stop after the current cycle. Safe from a signal handler."""
        self.stop_requested = True
        if self._wake is not None and self._aio is not None:
            # A signal handler may run while the event loop sits in select(): wake it.
            with contextlib.suppress(RuntimeError):  # the event loop already closed
                self._aio.call_soon_threadsafe(self._wake.set)

    # -- drivers -----------------------------------------------------------------------

    async def run_replay(
        self,
        feed: Any,
        *,
        progress: ProgressFn | None = None,
        pace_seconds: float = 0.0,
    ) -> LoopStats:
        """Replay ``feed`` (a :class:`~hostapp.market.feed.ReplayFeed`) to its end, or until
        :meth:`request_stop`. ``pace_seconds`` > 0 waits that long between cycles (a
        paper "live" run); the wait ends early on a stop request."""
        total: int = feed.step_count()  # exact, or a bound for a streamed feed
        base = timeframe_seconds(feed.base_timeframe)
        aligned = self._tf_seconds == base
        host_bar_closed = HostBarCloses(self.timeframe, getattr(feed, "zone", None), base)
        advance = feed.advance
        cycle = self.cycle
        self._aio = asyncio.get_running_loop()
        if pace_seconds > 0:
            self._wake = asyncio.Event()
        i = 0
        skip = self.resume_from
        for i, now in enumerate(feed.steps(), 1):
            if self.stop_requested:
                self.stats.interrupted = True
                break
            new_bars = advance(now)
            if skip is not None and now <= skip:
                continue  # a resumed account's past: history for the plugins, not traded again
            if new_bars:
                await cycle(now, new_bars, aligned or host_bar_closed(now))
            if progress is not None:
                progress(i, max(total, i))
            if pace_seconds > 0 and self._wake is not None:
                await _sleep_or_wake(self._wake, pace_seconds)
        if progress is not None and i != total and not self.stats.interrupted:
            progress(i, i)  # a streamed feed's count was a bound: it ends at 100 %
        return self.stats

    async def run_scaled(
        self,
        feed: Any,
        clock: ScaledLoopClock,
        *,
        cycle_seconds: float,
        progress: ProgressFn | None = None,
    ) -> LoopStats:
        """Play ``feed`` on ``clock`` (``--speed``). The steps up to ``clock.live_from``
        are history: played at once, as a replay (the cycle sets the clock to each). Then
        the clock runs: each step's bars once it reaches the step's time, one cycle per
        step (a run that fell behind catches up), and between steps a cycle without new
        bars every ``cycle_seconds`` of the clock's time, as a live host watches prices
        between bars. Every wait is the clock's time converted to the wall's, so the
        whole run keeps one pace."""
        total: int = feed.step_count()
        base = timeframe_seconds(feed.base_timeframe)
        aligned = self._tf_seconds == base
        host_bar_closed = HostBarCloses(self.timeframe, getattr(feed, "zone", None), base)
        self._aio = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        steps = iter(feed.steps())
        due: datetime | None = next(steps, None)
        watch: datetime | None = None  # the next cycle without a new bar
        i = 0
        live_from = clock.live_from
        period = timedelta(seconds=timeframe_seconds(feed.base_timeframe))
        gap = GAP_BARS * period
        last: datetime | None = None  # the time of the newest step played
        while due is not None and not self.stop_requested:
            if due > live_from:
                clock.go()  # the history is caught up on (a no-op once running)
            clock.wait_at(due)  # never ahead of a bar not played yet
            now = clock.now()
            if due <= now or due <= live_from:
                new_bars = feed.advance(due)
                if new_bars and (self.resume_from is None or due > self.resume_from):
                    await self.cycle(due, new_bars, aligned or host_bar_closed(due))
                i += 1
                if progress is not None:
                    progress(i, max(total, i))
                watch = due + timedelta(seconds=cycle_seconds)
                last, due = due, next(steps, None)
                if due is not None and last >= live_from and due - last > gap:
                    self._say_gap(clock, last, due, period)
                await asyncio.sleep(0)  # a run catching up still lets the dashboard answer
                continue
            if watch is not None and now >= watch:
                await self.cycle(now, {}, False)
                watch = now + timedelta(seconds=cycle_seconds)
            until = due if watch is None else min(due, watch)
            await _sleep_or_wake(wake, clock.wall_seconds((until - clock.now()).total_seconds()))
        self.stats.interrupted = self.stop_requested
        if progress is not None and due is None and i != total:
            progress(i, i)  # a streamed feed's count was a bound: it ends at 100 %
        if due is None and last is not None and not self.stop_requested:
            self.stats.data_ended = last
            self.host.log.warning(
                "the data ends: its last bar, closed at %s UTC, is played, so the run stops "
                "here (a --speed run plays its bars once)", f"{last:%Y-%m-%d %H:%M}",
            )  # fmt: skip
        return self.stats

    def _say_gap(
        self, clock: ScaledLoopClock, last: datetime, due: datetime, period: timedelta
    ) -> None:
        """A gap in the data (a weekend, a holiday) is a long quiet stretch of a scaled run:
        say it once, with when the bars come back, so a waiting run is not taken for a
        stuck one. ``last`` and ``due`` are bar closes: the gap runs from the last bar's
        close to the next bar's open (``period`` before its close), the market's own break
        (an hour's daily break reads an hour, a weekend 48 h), not one bar more."""
        wall = clock.wall_seconds((due - clock.now()).total_seconds())
        opens = due - period
        self.host.log.info(
            "no bars from %s to %s (a gap of %s in the data): cycles without bars until "
            "the next bar closes at %s, in about %s of wall time",
            f"{last:%Y-%m-%d %H:%M}", f"{opens:%Y-%m-%d %H:%M}", _span(opens - last),
            f"{due:%H:%M}", _span(timedelta(seconds=max(wall, 0.0))),
        )  # fmt: skip

    async def run_live(
        self,
        *,
        cycle_seconds: float,
        bar_source: Callable[[str], Awaitable[Bar | None] | Bar | None],
        now_fn: Callable[[], datetime],
    ) -> LoopStats:
        """Real time: every ``cycle_seconds``, ask ``bar_source(symbol)`` for the newest
        closed bar of each symbol; a bar not seen before makes a cycle at ``now_fn()``.
        A broker that can lose its market while answering (:class:`Watched`) is asked
        first whether it still has it."""
        self._aio = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        last_seen: dict[str, datetime] = {}
        skipped = 0  # in a row: one episode of a broker that does not answer
        while not self.stop_requested:
            try:
                if isinstance(self.host.broker, Watched):
                    self.host.broker.watch_connection()
                new_bars: dict[str, Bar] = {}
                for symbol in self.symbols:
                    got = bar_source(symbol)
                    bar = await got if isinstance(got, Awaitable) else got
                    if bar is not None and last_seen.get(symbol) != bar.time:
                        last_seen[symbol] = bar.time
                        new_bars[symbol] = bar
                # Without a new bar it is still a cycle: DTMS and the exits watch live prices.
                await self.cycle(now_fn(), new_bars, bool(new_bars))
            except AccountChanged as exc:
                self._account_changed(exc)
                break
            except BROKER_DOWN as exc:
                # The terminal went away or answered nonsense: skip this cycle, try again.
                skipped += 1
                self._skipped(skipped, exc)
                if self.stats.account_changed:  # its reconnect found another account
                    break
            else:
                if skipped:  # ends "cycle skipped", an ERROR: the terminal read that
                    self.host.log.warning(
                        "cycles run again, after %d skipped", skipped, extra={TERMINAL: True}
                    )
                skipped = 0
                self._reconnect_said = False
                self._reconnect_tried = None
            await _sleep_or_wake(self._wake, cycle_seconds)
        self.stats.interrupted = True
        return self.stats

    def _account_changed(self, exc: AccountChanged) -> None:
        """The terminal is on another account (a cycle's check or a reconnect found it):
        one ERROR line naming both, and the run ends here, before any plugin sees that
        account (docs/mt5.md, "Another account mid-run")."""
        self.stats.account_changed = str(exc)
        self.stats.interrupted = True
        self.stop_requested = True
        self.host.log.error("%s", exc, extra={TERMINAL: True})

    def _skipped(self, in_a_row: int, exc: BaseException) -> None:
        """Count a skipped cycle, say the first of an episode (the rest are counted), and
        ask a broker that can reconnect to do so, at cycles 1, 2, 4, 8… of the episode
        and every 64th after (a terminal restarts in seconds; a weekend lasts days), and
        never more than :data:`RECONNECT_AT_LEAST_EVERY` seconds apart (every 64th cycle
        is 32 minutes at 30 s cycles: a terminal back in the meantime stayed unused, its
        positions unwatched). The first reconnect of an episode is said; later ones are
        not, since cycles that go on failing after it show the terminal's answer was not
        the cure."""
        why = str(exc) if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"
        self.stats.cycles_skipped += 1
        self.stats.skip_error = why
        if in_a_row == 1:
            self.host.log.error("cycle skipped: %s (counted until cycles run again)", why)
        broker = self.host.broker
        now, tried = self._wall(), self._reconnect_tried
        due = (in_a_row & (in_a_row - 1)) == 0 or in_a_row % 64 == 0  # a power of two
        due = due or (tried is not None and now - tried >= RECONNECT_AT_LEAST_EVERY)
        if not due or not isinstance(broker, Reconnecting):
            return
        self._reconnect_tried = now
        try:
            broker.reconnect()
        except AccountChanged as changed:
            self._account_changed(changed)
        except BROKER_DOWN as again:
            if in_a_row == 1:
                self.host.log.error("reconnecting to the broker failed: %s", again)
        else:
            if not self._reconnect_said:
                self._reconnect_said = True
                self.host.log.warning(
                    "reconnected to the broker after %d skipped cycles", in_a_row,
                    extra={TERMINAL: True},  # where "cycle skipped" was read, at ERROR
                )  # fmt: skip


#: The longest wait, in seconds, between two reconnects of one episode of skipped cycles.
RECONNECT_AT_LEAST_EVERY = 120.0

#: What a broker that went away raises: its own error, or the transport's (the mt5linux
#: bridge raises rpyc's EOFError and socket errors, which are OSErrors).
BROKER_DOWN = (BrokerError, OSError, EOFError)


@runtime_checkable
class Reconnecting(Protocol):
    """A live broker that can connect again after its terminal went away."""

    def reconnect(self) -> None: ...


@runtime_checkable
class Watched(Protocol):
    """A live broker whose link to its market can be lost while it answers (a MetaTrader
    terminal cut off from its trade server): checked at the start of every live cycle."""

    def watch_connection(self) -> None: ...


def _span(span: timedelta) -> str:
    """``2 h 30 min``, ``48 h``, ``45 s``: a duration as a reader says it."""
    return duration_text(span.total_seconds())


async def _sleep_or_wake(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
