"""A private event loop in its own thread, where the engine, its broker and its
monitoring loop live.

Why a thread: broker calls are synchronous (MetaTrader's API, the mt5linux RPC bridge, the
paper account file) and a cycle over many trades also costs CPU. Run on the server's loop,
a slow cycle would stall every request, including ``/health``. On their own loop the engine
can take as long as it takes while the HTTP side keeps answering from the store, which
diskcache lets both threads share safely. Everything that touches the broker or the
strategy is submitted here, so those objects are only ever used from one thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class EngineThreadError(RuntimeError):
    """The engine thread is not running (never started, stopped, or crashed)."""


class EngineThread:
    def __init__(self, name: str = "dtms-engine") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self.alive:
            raise EngineThreadError("the engine thread is not running")
        return self._loop

    def start(self) -> None:
        if self._thread is not None:
            raise EngineThreadError("the engine thread was already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, ready), name=self._name, daemon=True
        )
        self._thread.start()
        ready.wait()

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            # Cancel whatever is left (the monitor, a stuck call) and close cleanly, so no
            # task is destroyed pending and no loop is left unclosed.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coro`` on the engine loop from any thread."""
        try:
            loop = self.loop
        except EngineThreadError:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop and await its result from another loop.

        Shielded: a caller that goes away (a client disconnecting mid-registration) does
        not cancel the engine's work half way through.
        """
        return await asyncio.shield(asyncio.wrap_future(self.submit(coro)))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop (cancelling its tasks) and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, timeout)
