"""The webhook notifier: DTMS state changes and actions, as JSON, to one URL.

Why a queue and a task: hooks run on the trading loop, and a slow or dead receiver must
never delay a cycle. A hook only formats the message and puts it on a bounded queue; one
background task posts the messages in order, each with a timeout and a few retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from hookspecs import (
    Action,
    ActionResult,
    DefensiveState,
    HostView,
    hookimpl,
    masked_url,
    parse_settings,
)

NAME = "notify_webhook"
#: Waits before the retries of one message.
BACKOFF_SECONDS = (1.0, 2.0, 4.0)
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: The share of ``shutdown``'s deadline spent waiting for the queue to drain; the rest is
#: left for stopping the sender and closing the session.
DRAIN_SHARE = 0.5

log = logging.getLogger(NAME)


@dataclass(frozen=True)
class Settings:
    url: str = ""
    timeout_seconds: float = 5.0
    retries: int = 3
    queue_size: int = 1000

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            # a webhook's path is its token (Discord, Slack): the message shows the host only
            shown = masked_url(self.url, keep_path=False)
            raise ValueError(f"key 'url': expected an http(s) webhook URL, got {shown!r}")
        if not self.timeout_seconds > 0:
            raise ValueError(f"key 'timeout_seconds': expected > 0, got {self.timeout_seconds}")
        if not 0 <= self.retries <= len(BACKOFF_SECONDS):
            raise ValueError(
                f"key 'retries': expected 0..{len(BACKOFF_SECONDS)}, got {self.retries}"
            )
        if self.queue_size < 1:
            raise ValueError(f"key 'queue_size': expected >= 1, got {self.queue_size}")


def body(text: str, event: dict[str, Any]) -> dict[str, Any]:
    """What Discord (``content``), Slack (``text``) and a generic receiver (``event``)
    each read."""
    return {"content": text, "text": text, "event": event}


def state_change_message(
    ticket: int, old: DefensiveState, new: DefensiveState, reason: str
) -> dict[str, Any]:
    text = f"DTMS ticket {ticket}: {old.value} → {new.value}" + (f" ({reason})" if reason else "")
    event = {"type": "state_change", "ticket": ticket, "from": old.value, "to": new.value,
             "reason": reason}  # fmt: skip
    return body(text, event)


def action_message(action: Action, result: ActionResult) -> dict[str, Any]:
    outcome = "done" if result.ok else f"failed ({result.code.value}: {result.message})"
    params = ", ".join(f"{k} {v}" for k, v in action.params.items())
    text = f"DTMS ticket {action.ticket}: {action.kind.value}" + (f" {params}" if params else "")
    event = {"type": "action", "ticket": action.ticket, "kind": action.kind.value,
             "params": dict(action.params), "ok": result.ok, "code": result.code.value,
             "reason": action.reason}  # fmt: skip
    return body(f"{text}: {outcome}", event)


class WebhookNotifier:
    """The plugin; ``sleep`` is injectable so tests need not wait for the backoff."""

    def __init__(self, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.settings: Settings | None = None
        self._sleep = sleep
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._dropping = False  # inside an episode of a full queue (logged once)
        self._posting = False  # a message taken off the queue is being sent

    @hookimpl
    def configure(self, host: HostView) -> None:
        self.settings = parse_settings(Settings, host.config_for(NAME), f"[plugin.{NAME}]")

    @hookimpl
    async def startup(self, host: HostView) -> None:
        assert self.settings is not None
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
        if self._queue is not None and self._task is not None and self.settings is not None:
            wait = self.settings.timeout_seconds * DRAIN_SHARE
            try:
                await asyncio.wait_for(self._queue.join(), wait)
            except TimeoutError:
                left = self._queue.qsize() + self._posting
                log.warning("%s: %d messages not sent at shutdown (the receiver is slow or"
                            " down): dropped", NAME, left)  # fmt: skip
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @hookimpl
    def on_state_change(
        self, host: HostView, ticket: int, old: DefensiveState, new: DefensiveState, reason: str
    ) -> None:
        self.post(state_change_message(ticket, old, new, reason))

    @hookimpl
    def on_action(self, host: HostView, action: Action, result: ActionResult) -> None:
        self.post(action_message(action, result))

    @hookimpl
    def run_report(self) -> dict[str, int]:
        return {"activity": self.sent, "sent": self.sent, "failed": self.failed,
                "dropped": self.dropped}  # fmt: skip

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
                            " oldest messages", NAME)  # fmt: skip
            self._dropping = True
        elif self._dropping and self._queue.qsize() < self._queue.maxsize // 2:
            log.info("%s: queue drained; %d messages dropped so far", NAME, self.dropped)
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
                else:
                    self.failed += 1
            finally:
                self._posting = False
                self._queue.task_done()

    async def _send(self, message: dict[str, Any]) -> bool:
        assert self.settings is not None and self._session is not None
        attempts = self.settings.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.post(self.settings.url, json=message) as resp:
                    await resp.read()
                    if resp.status < 300:
                        return True
                    problem = f"answered {resp.status}"
                    if resp.status not in TRANSIENT_STATUSES:
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = _problem(exc)
            if attempt < attempts:
                await self._sleep(BACKOFF_SECONDS[attempt - 1])
        event = message.get("event", {})
        log.error("%s: %s for ticket %s not delivered to the webhook at %s: %s", NAME,
                  event.get("type"), event.get("ticket"),
                  masked_url(self.settings.url, keep_path=False), problem)  # fmt: skip
        return False


def _problem(exc: BaseException) -> str:
    """What went wrong with a post, never aiohttp's text of it: the text of some errors
    (too many redirects, a connection timeout) holds the whole URL, and a webhook's path
    is its token. The error's type, its HTTP status, and the system's reason a connection
    failed ("Connect call failed ('127.0.0.1', 9)") say enough."""
    what = type(exc).__name__
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        what += f" {status}"
    reason = getattr(getattr(exc, "os_error", None), "strerror", None)
    if isinstance(reason, str) and reason:
        what += f" ({reason})"
    return what
