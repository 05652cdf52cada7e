"""The account mode the DTMS server reports, as the remote strategy learns and caches it
(docs/dtms.md): from a batch answer's ``account_mode``, or, with no ticket to refresh,
from ``GET /dtms/status``. A mixin of :class:`dtms_plugin.remote.RemoteStrategy` through
:class:`dtms_plugin.remote_states.RemoteStates`, whose refresh calls it.

Apart from the refresh of the trades' states: a host with no open trade must learn the
mode too, or its next entry goes through while the server's account is defensive
(``allow_order``), and what a malformed or missing mode leaves in the cache is its own
rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hookspecs import HostView

from .http_client import BAD_URL_ERRORS, TRANSIENT_ERRORS, RemoteApi, describe
from .remote_health import ServerHealth
from .remote_store import MemoryStates
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol

#: The least gap between two ``GET /dtms/status`` of a host with no open ticket to
#: refresh (:meth:`RemoteAccountMode._learn_account_mode`), whatever ``fresh_seconds`` says: the
#: route reads every record's listing on the server, once per idle host and gap
ACCOUNT_MODE_GAP = timedelta(seconds=1)


class RemoteAccountMode:
    """The account mode's reads and cache; the attributes are the strategy's."""

    settings: DtmsSettings
    log: logging.Logger
    _client: RemoteApi | None
    _last_mode_ask: datetime | None
    _now: Callable[[], datetime]
    _health: ServerHealth
    _memory: MemoryStates  # the states last learned, in memory (remote_store)

    def settle_rails(self, host: HostView) -> None:
        """The account rails are the server's to judge (its own strategy's), on its
        closes and its clients': nothing to settle here."""

    if TYPE_CHECKING:  # the strategy's own property

        @property
        def store(self) -> StoreProtocol: ...

    async def _learn_account_mode(self) -> None:
        """No ticket to refresh, so no batch answer brings the account mode: one
        ``GET /dtms/status`` (at most every ``fresh_seconds``, as long as a cached state
        is trusted, and never more often than :data:`ACCOUNT_MODE_GAP`), whose
        ``account_mode`` says it. A host with no open trade must learn it too, or its next
        entry goes through while the server's account is defensive (``allow_order``). It
        also tells, while this host has nothing to send nor ask, whether the server answers.
        """
        assert self._client is not None
        now = self._now()
        last = self._last_mode_ask
        gap = max(ACCOUNT_MODE_GAP, timedelta(seconds=self.settings.fresh_seconds))
        if last is not None and now - last < gap:
            return
        self._last_mode_ask = now
        try:
            reply = await self._client.status()
        except (*TRANSIENT_ERRORS, *BAD_URL_ERRORS) as exc:
            self._health.failed(f"GET /dtms/status: {describe(exc)}", unanswered=True)
            return
        if not reply.ok:
            self._health.failed(
                f"GET /dtms/status answered {reply.status}: {reply.message}",
                refused=400 <= reply.status < 500,
            )
            return
        self._health.answered()
        self._take_account_mode(reply.body)

    def _take_account_mode(self, status: Any) -> None:
        """Cache the account mode of a ``GET /dtms/status`` answer (``{"defensive": bool,
        "until", "reason"}``); a server that does not say it leaves the cache as it is."""
        mode = status.get("account_mode") if isinstance(status, dict) else None
        if not isinstance(mode, dict) or not isinstance(mode.get("defensive"), bool):
            return
        with suppress(StoreError):  # logged by the store
            self._store_account_mode({"account_mode": mode if mode["defensive"] else None})

    def _store_account_mode(self, body: dict[str, Any]) -> None:
        """Optional ``"account_mode": {"until": iso, "reason": str} | null`` in a batch."""
        if "account_mode" not in body:
            return
        mode = body["account_mode"]
        if mode is None:
            self._memory.put_account_mode(None, "cleared by the server")
            self.store.put_account_mode(None, "cleared by the server")
            return
        until = mode.get("until") if isinstance(mode, dict) else None
        try:
            at = datetime.fromisoformat(until) if isinstance(until, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            self.log.error("DTMS refresh: malformed account_mode %r", mode)
            return
        self._memory.put_account_mode(at, str(mode.get("reason", "")))
        self.store.put_account_mode(at, str(mode.get("reason", "")))
