"""The webhook notifier: DTMS state changes and actions, as JSON, to one URL.

Why a queue and a task: hooks run on the trading loop, and a slow or dead receiver must
never delay a cycle. A hook only formats the message and puts it on a bounded queue; one
background task posts the messages in order, each with a timeout and a few retries.

Delivery is at most once: a chat webhook is not idempotent, and a post that timed out (or
lost its connection midway) may have been shown already, so only what surely did not
arrive is retried: a connection that could not be made, and a receiver's 408, 429 or 5xx.
A duplicate alert in a chat about a hedge reads like a second hedge; the log and the
dashboard keep the full record of what DTMS did. Each message takes at most
``deadline_seconds`` from its first attempt, waits included, so alerts are never minutes
late; a receiver that asks to wait (``Retry-After``, Discord's ``retry_after`` and its
``X-RateLimit-*`` headers) is obeyed for the next messages too, and one whose wait would
pass the deadline gets the message counted as failed instead.

Which runs post: live ones; a simulated run only with ``simulated = true``, and then only
the command's own run, each message naming it (:func:`quiet_because`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from hookspecs import (
    Action,
    ActionResult,
    DefensiveState,
    HostView,
    RunView,
    events,
    hookimpl,
    masked_url,
    parse_settings,
)

from .messages import (
    DTMS,
    action_message,
    body,
    post_problem,
    retry_after,
    state_change_message,
    url_problem,
    wait_seconds,
)

NAME = "notify_webhook"
#: Waits before the retries of one message, unless the receiver says how long.
BACKOFF_SECONDS = (1.0, 2.0, 4.0)
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: The share of ``shutdown``'s deadline spent waiting for the queue to drain; the rest is
#: left for stopping the sender and closing the session.
DRAIN_SHARE = 0.5

log = logging.getLogger(NAME)
#: The ``extra`` of a WARNING for the terminal too, where the run shows errors only: the
#: end of a failure episode whose ERROR was read there, the messages lost (docs/plugins.md,
#: "Your own log lines").
TERMINAL = {events.FOR_TERMINAL: True}


@dataclass(frozen=True)
class Settings:
    url: str = ""
    timeout_seconds: float = 5.0
    retries: int = 3
    queue_size: int = 1000
    deadline_seconds: float = 30.0  # the longest one message may take, waits included
    actions: Literal["dtms", "all"] = "dtms"  # whose actions to post: DTMS's, or every plugin's
    simulated: bool = False  # post from simulated runs too (replays), each message naming the run

    def __post_init__(self) -> None:
        if not self.url.strip():  # not "expected a URL, got ''": the key was left out
            raise ValueError(
                "key 'url' is required: the webhook's URL, as "
                'url = "https://discord.com/api/webhooks/…" (it is missing or empty)'
            )
        problem = url_problem(self.url)
        if problem:
            # a webhook's path is its token (Discord, Slack): the message shows the host only
            shown = masked_url(self.url, keep_path=False)
            raise ValueError(f"key 'url': {problem}, got {shown!r}")
        if not self.timeout_seconds > 0:
            raise ValueError(f"key 'timeout_seconds': expected > 0, got {self.timeout_seconds}")
        if not 0 <= self.retries <= len(BACKOFF_SECONDS):
            raise ValueError(
                f"key 'retries': expected 0..{len(BACKOFF_SECONDS)}, got {self.retries}"
            )
        if not self.deadline_seconds >= self.timeout_seconds:
            raise ValueError(
                f"key 'deadline_seconds': expected at least timeout_seconds "
                f"({self.timeout_seconds}), got {self.deadline_seconds}"
            )
        if self.queue_size < 1:
            raise ValueError(f"key 'queue_size': expected >= 1, got {self.queue_size}")


def quiet_because(host: HostView, settings: Settings) -> str:
    """Why this run posts nothing, in words, or "" when it posts.

    A live run posts. A simulated run (a replay, ``hostapp run``) posts only when
    ``simulated = true`` says so: its events are history, and a chat that gets a replay's
    "→ HEDGED" cannot tell it from a live one. Even then, only the command's own run
    posts (``hookspecs.RunView.own_run``): an A/B's baseline and same-entries runs, and a
    sweep's, replay the same bars again, and would tell the same events twice or more."""
    if host.mode != "simulated":
        return ""
    if not settings.simulated:
        return (
            "a simulated run; it posts from live runs only (simulated = true posts a "
            "simulated run's events too, each naming the run)"
        )
    if isinstance(host, RunView) and not host.own_run:
        return (
            f"run \"{host.run_name}\" replays the bars of its command's own run (an A/B's "
            "baseline or same-entries run, a sweep's run): only that run posts, so no "
            "event is told twice"
        )
    return ""


class WebhookNotifier:
    """The plugin; ``sleep`` and ``clock`` (seconds, monotonic) are injectable together so
    tests need not wait for the backoff or a receiver's ``Retry-After``."""

    def __init__(
        self,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings: Settings | None = None
        self._sleep = sleep
        self._clock = clock
        self._not_before = 0.0  # no post before this (clock) time: the receiver asked so
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._dropping = False  # inside an episode of a full queue (logged once)
        self._posting = False  # a message taken off the queue is being sent
        #: the episode of messages not delivered going on (its first said, the rest
        #: counted until one goes through): how many, since when (clock), the last reason
        self._failing = 0
        self._failing_since = 0.0
        self._last_problem = ""
        #: why this run posts nothing (a simulated run, unless the settings say), or "";
        #: the run report's note says it
        self._quiet = ""
        #: how a simulated run's messages name it (``simulated run "full"``), or ""
        self._run = ""
        self._run_name = ""

    @hookimpl
    def configure(self, host: HostView) -> None:
        self.settings = parse_settings(Settings, host.config_for(NAME), f"[plugin.{NAME}]")

    @hookimpl
    async def startup(self, host: HostView) -> None:
        assert self.settings is not None
        self._quiet = quiet_because(host, self.settings)
        if self._quiet:
            return  # no queue: the hooks post nothing
        if host.mode == "simulated":
            self._run_name = host.run_name if isinstance(host, RunView) else "run"
            self._run = f'simulated run "{self._run_name}"'
        self._queue = asyncio.Queue(self.settings.queue_size)
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.get_running_loop().create_task(self._send_forever(), name=NAME)

    @hookimpl
    async def shutdown(self, host: HostView) -> None:
        """Send what is queued for at most half of ``timeout_seconds``, then stop the
        sender and close the session, saying how many messages were dropped.

        Why half: ``timeout_seconds`` of this table is also the host's deadline for each
        of this plugin's hooks (docs/plugins.md). Waiting all of it for a dead receiver
        would have the host cancel ``shutdown`` midway, its session left open."""
        left = 0
        if self._queue is not None and self._task is not None and self.settings is not None:
            wait = self.settings.timeout_seconds * DRAIN_SHARE
            try:
                await asyncio.wait_for(self._queue.join(), wait)
            except TimeoutError:
                left = self._queue.qsize() + self._posting
                self.dropped += left
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._queue is not None:  # the final counts: run_report came before this drain
            self._say_final_counts(left)

    def _say_final_counts(self, left: int) -> None:
        """One line: the run's counts, after what went wrong at its end (the messages
        dropped at shutdown, a receiver failing every message since some time), which
        would otherwise each take a line of their own. On the terminal too when a message
        was lost: it ends the episode whose ERROR was read there, and the run's summary,
        asked for before this drain, does not know the messages dropped in it."""
        counts = f"{self.sent} messages sent, {self.failed} failed, {self.dropped} dropped"
        episode = f"; {self._failing_episode()}" if self._failing else ""
        if left:
            log.warning("%s: %d messages not sent at shutdown (the receiver is slow or down):"
                        " dropped; in all %s%s", NAME, left, counts, episode,
                        extra=TERMINAL)  # fmt: skip
        elif episode or self.failed or self.dropped:
            log.warning("%s: %s%s", NAME, counts, episode, extra=TERMINAL)
        else:
            log.info("%s: %s", NAME, counts)

    @hookimpl
    def on_state_change(
        self, host: HostView, ticket: int, old: DefensiveState, new: DefensiveState, reason: str
    ) -> None:
        self.post(self._named(host, state_change_message(ticket, old, new, reason)))

    @hookimpl
    def on_action(self, host: HostView, action: Action, result: ActionResult) -> None:
        assert self.settings is not None
        if self.settings.actions == "all" or action.source == DTMS:
            self.post(self._named(host, action_message(action, result)))

    def _named(self, host: HostView, message: dict[str, Any]) -> dict[str, Any]:
        """A simulated run's message, naming the run and the bar's time (its own clock):
        a replayed hedge of last March must not read as one happening now."""
        if not self._run:
            return message
        when = host.clock.now()
        text = f"[{self._run}, {when:%Y-%m-%d %H:%M} UTC] {message['text']}"
        simulated = {"run": self._run_name, "time": when.isoformat()}
        return body(text, {**message["event"], "simulated": simulated})

    @hookimpl
    def run_report(self) -> dict[str, Any]:
        """The counts so far, and how many messages are still ``queued``.

        The host asks for this report before ``shutdown`` (hookspecs/spec.py), and
        ``shutdown`` is where what is left gets sent or dropped: so sent + failed +
        dropped + queued is every message, and ``shutdown`` logs the final counts."""
        queued = self._queue.qsize() + self._posting if self._queue is not None else 0
        report: dict[str, Any] = {"activity": self.sent, "sent": self.sent,
                                  "failed": self.failed, "dropped": self.dropped,
                                  "queued": queued}  # fmt: skip
        notes = [f"posted nothing: {self._quiet}"] if self._quiet else []
        lost = self.failed + self.dropped
        if lost:
            notes.append(self._lost())
        if queued:
            assert self.settings is not None
            wait = self.settings.timeout_seconds * DRAIN_SHARE
            notes.append(
                f"{queued} messages were still queued when the run ended: shutdown sends "
                f"them for at most {wait:g} s, drops the rest and logs the final counts"
            )
        if notes:
            report["note"] = "; ".join(notes)
        return report

    def _lost(self) -> str:
        """The messages the chat never got, for the run's summary table: the one place a
        trader reads after a run, which otherwise showed the counts with no word of them.
        The receiver by its host only (a webhook's path is its token)."""
        assert self.settings is not None
        lost = self.failed + self.dropped
        why = [f"the last failure: {self._last_problem}"] if self.failed else []
        if self.dropped:
            why.append(f"dropped as the queue of {self.settings.queue_size} was full")
        return (
            f"{lost} of {self.sent + lost} messages not delivered: {self.failed} failed, "
            f"{self.dropped} dropped (the webhook at "
            f"{masked_url(self.settings.url, keep_path=False)}; {'; '.join(why)})"
        )

    def post(self, message: dict[str, Any]) -> None:
        """Queue ``message``; never waits. A full queue drops its oldest message."""
        if self._queue is None:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            if not self._dropping:
                log.warning("%s: the queue is full (receiver slow or down); dropping the"
                            " oldest messages", NAME, extra=TERMINAL)  # fmt: skip
            self._dropping = True
        elif self._dropping and self._queue.qsize() < self._queue.maxsize // 2:
            log.warning("%s: queue drained; %d messages dropped so far", NAME, self.dropped,
                        extra=TERMINAL)  # fmt: skip
            self._dropping = False
        self._queue.put_nowait(message)

    async def _send_forever(self) -> None:
        assert self._queue is not None
        while True:
            message = await self._queue.get()
            self._posting = True
            try:
                if await self._send(message):
                    self.sent += 1
                    if self._failing:
                        log.warning("%s: %s; it took a message again", NAME,
                                    self._failing_episode(), extra=TERMINAL)  # fmt: skip
                        self._failing = 0
                else:
                    self.failed += 1
            finally:
                self._posting = False
                self._queue.task_done()

    async def _send(self, message: dict[str, Any]) -> bool:
        """Post ``message`` until it is delivered, refused, or its deadline would pass."""
        assert self.settings is not None
        give_up_at = self._clock() + self.settings.deadline_seconds
        problem = ""
        for attempt in range(self.settings.retries + 1):
            wait = self._not_before - self._clock()
            if wait > 0:
                if self._clock() + wait >= give_up_at:
                    late = f"the next try would be {wait:.1f} s on, past the message's deadline"
                    problem = f"{problem}; {late}" if problem else late
                    break
                await self._sleep(wait)
            again, problem, asked = await self._post_once(message, give_up_at - self._clock())
            if again is None:
                return True
            if asked is not None:  # the receiver's wait holds back the next post, whichever
                self._not_before = max(self._not_before, self._clock() + asked)
            if not again or attempt == self.settings.retries:
                break
            if asked is None:
                pause = BACKOFF_SECONDS[attempt]
                self._not_before = max(self._not_before, self._clock() + pause)
        self._not_delivered(message, problem)
        return False

    def _not_delivered(self, message: dict[str, Any], problem: str) -> None:
        """Say the first message of an episode the webhook did not take, with why, and
        count the rest until one goes through: a receiver that is down fails every
        message, and a line each (every few seconds, on the terminal too) would bury the
        log. The episode's end says how many there were."""
        assert self.settings is not None
        if not self._failing:
            event = message.get("event", {})
            log.error("%s: %s for ticket %s not delivered to the webhook at %s: %s (the next"
                      " ones that fail are counted until one goes through)", NAME,
                      event.get("type"), event.get("ticket"),
                      masked_url(self.settings.url, keep_path=False), problem)  # fmt: skip
            self._failing_since = self._clock()
        self._failing += 1
        self._last_problem = problem

    def _failing_episode(self) -> str:
        """The failures of the episode going on, in words, for the line that ends it."""
        assert self.settings is not None
        took = self._clock() - self._failing_since
        return (
            f"{self._failing} messages not delivered to the webhook at "
            f"{masked_url(self.settings.url, keep_path=False)} over {took:.0f} s (the last: "
            f"{self._last_problem})"
        )

    async def _post_once(
        self, message: dict[str, Any], left: float
    ) -> tuple[bool | None, str, float | None]:
        """One post: (None: delivered | True: surely not delivered, try again | False: do
        not), what went wrong, and the wait the receiver asked for (seconds) if it did."""
        assert self.settings is not None and self._session is not None
        timeout = aiohttp.ClientTimeout(total=min(self.settings.timeout_seconds, left))
        try:
            async with self._session.post(self.settings.url, json=message, timeout=timeout) as resp:
                content = await resp.read()
                self._pace(resp.headers)
                if resp.status < 300:
                    return None, "", None
                again = resp.status in TRANSIENT_STATUSES
                return again, f"answered {resp.status}", retry_after(resp.headers, content)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            return True, post_problem(exc), None  # never reached the receiver
        except (aiohttp.ClientError, TimeoutError) as exc:
            return False, post_problem(exc), None  # it may have arrived: at most once

    def _pace(self, headers: Mapping[str, str]) -> None:
        """Discord says when its rate limit is used up (``X-RateLimit-Remaining: 0``) and
        how long until it resets: the next post waits for that rather than get a 429."""
        if headers.get("X-RateLimit-Remaining") == "0":
            reset = wait_seconds(headers.get("X-RateLimit-Reset-After"))
            if reset is not None:
                self._not_before = max(self._not_before, self._clock() + reset)
