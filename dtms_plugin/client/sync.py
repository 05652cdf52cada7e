"""``DtmsClient``: the DTMS API for a program without an event loop (a sync bot, an exit
manager), safe to call from many threads at once.

Why a private loop thread: aiohttp's session is bound to one event loop, and the pooled
connections, retries and cache rules of :class:`AsyncDtmsClient` should exist once. Each
call is submitted to that loop and waited for, so threads share one pool and one cache.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any, TypeVar

from hookspecs import masked_url

from .aio import AsyncDtmsClient
from .bodies import DtmsClientUnusable, RegisterResult
from .http import (
    DEFAULT_FRESH_SECONDS,
    DEFAULT_LAST_KNOWN_SECONDS,
    DEFAULT_QUERY_RETRY_SECONDS,
    DEFAULT_REGISTER_TIMEOUT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_ENV,
)

T = TypeVar("T")


class DtmsClient:
    """Same arguments (but the test hooks ``clock``, ``sleep`` and ``rand``) and methods
    as :class:`AsyncDtmsClient`, blocking. Use ``with`` (or call :meth:`close`) so the
    loop thread ends."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        token_env: str = DEFAULT_TOKEN_ENV,
        timeout: float = DEFAULT_TIMEOUT,
        register_timeout: float = DEFAULT_REGISTER_TIMEOUT,
        fresh_seconds: float = DEFAULT_FRESH_SECONDS,
        last_known_seconds: float = DEFAULT_LAST_KNOWN_SECONDS,
        query_retry_seconds: float = DEFAULT_QUERY_RETRY_SECONDS,
        log: logging.Logger | None = None,
    ) -> None:
        # named one by one, not ``**options``: a type checker then checks a caller's
        # options, and a misspelt one is a TypeError naming this class
        self._client = AsyncDtmsClient(  # bad arguments: no thread left
            url,
            token=token,
            token_env=token_env,
            timeout=timeout,
            register_timeout=register_timeout,
            fresh_seconds=fresh_seconds,
            last_known_seconds=last_known_seconds,
            query_retry_seconds=query_retry_seconds,
            log=log,
        )
        self.url = self._client.url
        self._closed = False
        # held while a call is handed to the loop and while close() begins: every call
        # handed over before close() is then a task its shutdown finds and cancels (the
        # loop runs handed-over work in order), and none is handed over after it
        self._handing = threading.Lock()
        self._pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        # the thread holds the loop, never this object: one left unclosed can be collected
        self._thread = threading.Thread(
            target=_run_loop, args=(self._loop,), name="dtms-client", daemon=True
        )
        self._thread.start()

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        """Never closed: its loop thread and connections would outlive it unseen. Say so
        with a ResourceWarning, as asyncio and aiohttp do for theirs, and end them."""
        if getattr(self, "_closed", True) or getattr(self, "_pid", None) != os.getpid():
            return
        _warn(f"unclosed DtmsClient for {masked_url(self.url)}: use `with DtmsClient() as "
              "dtms:` or call close()", ResourceWarning, source=self)  # fmt: skip
        ending = _close_and_stop(self._client)
        try:
            asyncio.run_coroutine_threadsafe(ending, self._loop)
        except RuntimeError:  # its loop is closed already (the interpreter is exiting)
            ending.close()

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._handing:
            if self._closed:
                coro.close()
                raise DtmsClientUnusable("DtmsClient used after close()")
            if os.getpid() != self._pid:  # its loop thread stayed in the parent: it would hang
                coro.close()
                raise DtmsClientUnusable(
                    "DtmsClient made before a fork is used in the child process: make a "
                    "new one in the child (its loop thread is in the parent)"
                )
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise DtmsClientUnusable("DtmsClient closed while the call was waiting") from None
        finally:
            # the future holds the call's exception, whose traceback holds this frame:
            # unbroken, that cycle would keep this client alive until a garbage collection
            del future

    def __enter__(self) -> DtmsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop: calls still waiting in other threads, and any made after, end with a
        :class:`DtmsClientUnusable` (their tasks are cancelled) rather than wait forever on
        a stopped loop. In a child process after a fork it does nothing: the loop thread
        is the parent's."""
        with self._handing:
            if self._closed:
                return
            self._closed = True
            if os.getpid() != self._pid:  # the loop thread is the parent's: leave it be
                return
            shutdown = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        shutdown.result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)  # the thread closes the loop once it has stopped

    async def _shutdown(self) -> None:
        """In the loop: cancel every other call still running, then close the client."""
        me = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not me]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._client.close()

    @property
    def client(self) -> AsyncDtmsClient:
        """The async client behind this one (its cache, its settings)."""
        return self._client

    def register(self, trade: Any) -> RegisterResult:
        return self._wait(self._client.register(trade))

    def register_many(self, trades: Iterable[Any]) -> list[RegisterResult]:
        return self._wait(self._client.register_many(list(trades)))

    def unregister(self, ticket: int) -> bool:
        return self._wait(self._client.unregister(ticket))

    def report_closed(
        self,
        ticket: int,
        reason: str = "closed",
        profit: float = 0.0,
        *,
        closed_at: datetime | str | None = None,
        close_price: float | None = None,
    ) -> dict[str, Any] | None:
        return self._wait(
            self._client.report_closed(
                ticket, reason, profit, closed_at=closed_at, close_price=close_price
            )
        )

    def state(self, ticket: int) -> dict[str, Any] | None:
        return self._wait(self._client.state(ticket))

    def states(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        return self._wait(self._client.states(list(tickets)))

    def is_defensive(self, ticket: int) -> bool:
        return self._wait(self._client.is_defensive(ticket))

    def trades(self, state: str | None = None) -> dict[int, dict[str, Any]]:
        return self._wait(self._client.trades(state))

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self._wait(self._client.actions(ticket, limit))

    def status(self) -> dict[str, Any]:
        return self._wait(self._client.status())

    def health(self) -> dict[str, Any]:
        return self._wait(self._client.health())


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The loop thread: runs until stopped, then closes the loop (its own thread's)."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


async def _close_and_stop(client: AsyncDtmsClient) -> None:
    """What ``close`` does for a client nobody closed: its connections, then its loop."""
    try:
        await client.close()
    finally:
        asyncio.get_running_loop().stop()
