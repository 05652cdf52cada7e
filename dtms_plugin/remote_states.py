"""The remote strategy's view of the server's states: the batched refresh into the
store's state cache, and the states this host's trades reached there (the run's summary
counts them); the account mode the server reports is :mod:`dtms_plugin.remote_account_mode`.
A mixin of :class:`dtms_plugin.remote.RemoteStrategy`, apart so each file stays readable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from hookspecs import DefensiveState, HostView, masked_url

from .http_client import BAD_URL_ERRORS, TRANSIENT_ERRORS, RemoteApi, describe, tickets_text
from .remote_account_mode import RemoteAccountMode
from .remote_events import RemoteEvents
from .remote_health import ServerHealth, dtms_health_body
from .remote_store import MemoryStates, StoreEpisode
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol
from .ticket_text import ticket_in

#: Tickets per batch query; keeps the URL far below aiohttp's 8 KiB request-line limit.
BATCH_SIZE = 200
#: Minimum gap between refreshes scheduled from the hot path (``is_defensive``).
REFRESH_GAP = timedelta(seconds=1)
#: Closed tickets a host remembers, the newest: their refreshes are skipped and the states
#: they reached counted once. An older one leaves memory and the state cache (a host runs
#: for months; ``is_defensive`` of a ticket it no longer holds asks the server again).
CLOSED_KEPT = 1000
_DEFENSIVE = frozenset({"WARNING_L2", "HEDGED"})
_STATES = frozenset(s.value for s in DefensiveState)


class RemoteStates(RemoteEvents, RemoteAccountMode):
    """State refresh and reached states, and through :class:`RemoteEvents` the server's
    history of the trades refreshed; the attributes are the strategy's."""

    name: str
    settings: DtmsSettings
    log: logging.Logger
    _client: RemoteApi | None
    _host: HostView | None
    _reached: Counter[str]
    _reached_by: dict[int, set[str]]
    _handed: int
    _closes_unknown: int
    _closes_unknown_last: list[int]
    _handed_again: set[int]
    _open: set[int]
    _closed: dict[int, None]
    _wanted: set[int]
    _volatile: dict[int, dict[str, Any]]
    _refresh_task: asyncio.Task[None] | None
    _refresh_not_before: datetime | None
    _refresh_lock: asyncio.Lock | None
    _now: Callable[[], datetime]
    _health: ServerHealth
    outbox_problems: Callable[[], list[str]]  # the outbox's sender (remote_outbox)
    _outbox_items: Callable[[], list[tuple[int, dict[str, Any]]]]  # (remote_outbox)
    _store_down: StoreEpisode  # the store out of reach (remote_store)
    _memory: MemoryStates  # the states last learned, in memory (remote_store)

    @property
    def store(self) -> StoreProtocol:
        raise NotImplementedError

    def _save_open(self) -> None:
        raise NotImplementedError

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        raise NotImplementedError

    async def _hand_again(self, tickets: list[int]) -> None:
        raise NotImplementedError

    def _note_states(self, states: dict[int, str | None]) -> None:
        raise NotImplementedError

    def _cached_state(self, ticket: int) -> str | None:
        try:
            cached = self.store.get_state(ticket)
        except StoreError:
            return None
        return cached[0] if cached is not None else None

    async def _reached_state(
        self,
        ticket: int,
        old: str | None,
        new: str,
        why: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Count a state the server put one of our trades in, and tell the host (its
        run summary counts the states reached); ``details``: the score breakdown, when
        the server's history gave it (:mod:`.remote_events`)."""
        if new == old or new not in _STATES or (old is None and new == "HEALTHY"):
            return  # a trade starts HEALTHY: only a change is reached
        seen = self._reached_by.setdefault(ticket, set())
        if new not in seen:
            seen.add(new)
            self._reached[new] += 1
        report = getattr(self._host, "report_state_change", None)
        if report is None:
            return
        previous = DefensiveState(old) if old in _STATES else DefensiveState.HEALTHY
        try:
            await report(ticket, previous, DefensiveState(new), why, details)
        except Exception:
            self.log.exception("DTMS: reporting ticket %s reaching %s failed", ticket, new)

    def report(self) -> dict[str, Any]:
        """The run's account of the remote strategy: the trades the server took (its
        activity: a close the host reports for a trade the server never heard of is
        none) and the states they reached there."""
        reached = dict(sorted(self._reached.items()))
        out: dict[str, Any] = {
            "strategy": self.name,
            "api_url": masked_url(self.settings.api_url),
            "states_reached": reached,
            "trades_handed": self._handed,
            "trades_handed_again": len(self._handed_again),
            "activity": self._handed,
        }
        pending = 0
        with suppress(StoreError):
            pending = out["outbox_pending"] = self.store.outbox_len()
        note = self._health.note(pending)
        if note is not None:
            out["note"] = note
            out["server_episodes"] = self._health.episodes
        elif self._handed:  # the summary's action rows are this host's, and it took none
            heard = (
                f", and this host's plugins heard {self._actions_heard} of them (on_action)"
                if self._actions_heard
                else ""
            )
            out["note"] = (
                f"DTMS managed the {self._handed} trades on the server at "
                f"{masked_url(self.settings.api_url)}: its actions are there (`dtms actions`), "
                f"not in this host's action rows{heard}"
            )
        if self._actions_heard:
            out["server_actions_heard"] = self._actions_heard
        if self._closes_unknown:
            out["closes_unknown_to_server"] = self._closes_unknown
            shown = ", ".join(map(str, self._closes_unknown_last))
            more = "the newest: " if self._closes_unknown > len(self._closes_unknown_last) else ""
            lost = (
                f"{self._closes_unknown} closes reported for trades the server had no record "
                f"of ({more}tickets {shown}): its store lost them, or they never reached it"
            )
            out["note"] = f"{out['note']}; {lost}" if "note" in out else lost
        return out

    def health(self) -> tuple[bool, dict[str, Any]]:
        """This host's view of the DTMS server, for the host's ``/health``: healthy while
        the server answers and the outbox can be sent; the original's keys, the server,
        since when it has not answered and what waits in the outbox meanwhile."""
        from .server.original import health_keys  # the server side: only when the host serves

        health = self._health
        pending: int | None = None
        with suppress(StoreError):
            pending = self.store.outbox_len()
        problems = self.outbox_problems() + self._store_down.problems()
        if health.down_since is not None:
            why = f"refuses this host ({health.refused})" if health.refused else "is not answering"
            problems.append(
                f"DTMS server {masked_url(self.settings.api_url)} {why} since "
                f"{health.down_since.isoformat(timespec='seconds')}"
            )
        return not problems, {
            **health_keys(healthy=not problems, engine_running=True, now=self._now()),
            "strategy": self.name,
            "api_url": masked_url(self.settings.api_url),
            "server_answering": not health.down,
            "down_since": health.down_since.isoformat() if health.down_since else None,
            "outbox_pending": pending,
            "problems": problems,
        }

    def _schedule_refresh(self, ticket: int, now: datetime) -> None:
        """Coalesce hot-path refresh requests into one background batch query."""
        self._wanted.add(ticket)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here: the next on_cycle refreshes it
        if self._client is None or self._refresh_lock is None:
            return
        if self._refresh_task is not None and not self._refresh_task.done():
            return
        if self._refresh_not_before is not None and now < self._refresh_not_before:
            return
        self._refresh_not_before = now + REFRESH_GAP
        self._refresh_task = self._spawn(self.refresh(), "dtms-remote-refresh")

    async def refresh(self) -> None:
        """Fetch the states of all open (and asked-about) tickets in batched requests."""
        if self._client is None or self._refresh_lock is None:
            return
        async with self._refresh_lock:
            pending = {t for t, _ in self._outbox_items()} | set(self._volatile)
            wanted, self._wanted = self._wanted, set()
            drain = self._draining()
            # and those closed here whose history the server still tells (remote_events)
            tickets = sorted(((self._open | wanted) - self._closed.keys() | drain) - pending)
            # no batch answer carries the account mode: ask for it (not while the server
            # is down and the outbox pass of this cycle has just tried it in vain)
            if not tickets and not (pending and self._health.down):
                await self._learn_account_mode()
            for start in range(0, len(tickets), BATCH_SIZE):
                chunk = tickets[start : start + BATCH_SIZE]
                if not await self._refresh_chunk(chunk):
                    self._wanted |= wanted & set(tickets[start:])  # asked again next time
                    return

    async def _health_answers(self, when: str) -> bool:
        """One ``GET /health``: whether the server answers it (said to the episode of a
        server not answering: :class:`ServerHealth`). A 503 with DTMS's own body answers:
        unhealthy (a failed cycle), said at WARNING, the host goes on; a 503 without it is
        a proxy's, no answer. ``when`` begins what is said ("at start-up, ")."""
        assert self._client is not None
        try:
            reply = await self._client.health()
        except (*TRANSIENT_ERRORS, *BAD_URL_ERRORS) as exc:
            self._health.failed(f"{when}GET /health: {describe(exc)}", unanswered=True)
            return False
        if reply.status >= 500 and not dtms_health_body(reply.body):
            self._health.failed(f"{when}GET /health answered {reply.status}")
            return False
        if reply.ok and not isinstance(reply.body, dict):  # a proxy's page, not DTMS
            self._health.failed(
                f"{when}GET /health answered {reply.status} without a DTMS JSON object "
                f"({reply.text[:80]!r}): is api_url a DTMS server?"
            )
            return False
        self._health.answered()
        if reply.status >= 500:  # DTMS's own 503: it answers, with problems (at start-up)
            problems = "; ".join(map(str, reply.body["problems"])) or "none named"
            self.log.warning(
                "%sDTMS server %s answers /health %d, unhealthy: %s; this host goes on "
                "handing it trades and reading their states",
                when, masked_url(self.settings.api_url), reply.status, problems,
            )  # fmt: skip
        return True

    async def _refresh_chunk(self, tickets: list[int]) -> bool:
        assert self._client is not None
        url = self._client.url("/dtms/trades")
        try:
            reply = await self._client.trades(tickets)
        except TRANSIENT_ERRORS as exc:
            self._health.failed(f"refresh of {len(tickets)} tickets: {describe(exc)}")
            return False
        except BAD_URL_ERRORS as exc:  # a configuration error: retrying cannot help
            self.log.error("DTMS refresh: GET %s: %s (check [plugin.dtms] api_url)", url, exc)
            return False
        trades = reply.body.get("trades") if isinstance(reply.body, dict) else None
        if not reply.ok or not isinstance(trades, dict):
            # a problem that repeats every cycle (a server whose store is away answers 503
            # each time): said once an episode, with its count when it ends (ServerHealth)
            self._health.failed(
                f"refresh of {tickets_text(tickets)}: GET {url} answered {reply.status}: "
                f"{reply.message}",
                refused=400 <= reply.status < 500,
            )
            return False
        self._health.answered()
        now = self._now()
        states: dict[int, str | None] = {}
        for key, entry in trades.items():
            state = entry.get("state") if isinstance(entry, dict) else None
            ticket = ticket_in(key)
            if ticket is None or not isinstance(state, str):
                self.log.error("DTMS refresh: malformed entry %r: %r from %s", key, entry, url)
                continue
            states[ticket] = state
        unknown = reply.body.get("unknown", [])
        for ticket in unknown if isinstance(unknown, list) else []:
            if isinstance(ticket, int) and not isinstance(ticket, bool):
                states[ticket] = None
        lost = sorted(t for t, state in states.items() if state is None and t in self._open)
        if lost:  # handed to it once, unknown now: its store was replaced or lost
            await self._hand_again(lost)
        # The server's batch marks every trade defensive while its account mode is on; with
        # no explicit "account_mode" in the answer, cache that verdict for the fresh window.
        account_hint = "account_mode" not in reply.body and any(
            isinstance(e, dict) and e.get("defensive") is True and e.get("state") not in _DEFENSIVE
            for e in trades.values()
        )
        told = states  # the server's word, for the history told below
        states = self._server_view(states)  # a trade closed here stays CLOSED here
        before = {t: self._cached_state(t) for t in states}
        self._memory.put_states(states, now)  # what is_defensive answers while it is away
        if account_hint:
            until = now + timedelta(seconds=self.settings.fresh_seconds)
            self._memory.put_account_mode(until, "the DTMS server reports account defensive mode")
        try:
            self.store.put_states(states, now)
            self._store_account_mode(reply.body)
            if account_hint:
                until = now + timedelta(seconds=self.settings.fresh_seconds)
                self.store.put_account_mode(until, "the DTMS server reports account defensive mode")
        except StoreError:
            return False  # logged by the store
        self._note_states(states)  # which are HEDGED: allow_order's rule
        held = self._held_here(states)  # its CLOSED, but this host's broker lists them
        closed = {t for t, s in states.items() if s == "CLOSED"} - held
        if closed & self._open:  # before the history told: followed no more once told
            self._open -= closed
            self._save_open()
        followed = await self._tell_history(trades, told)  # with the server's reasons
        for ticket, state in states.items():
            if state is not None and ticket not in followed:
                await self._reached_state(ticket, before[ticket], state, "DTMS server")
        self._remember_closed(closed)
        return True

    def _remember_closed(self, tickets: Iterable[int]) -> None:
        """Note closed tickets, the newest last; beyond :data:`CLOSED_KEPT`, the oldest
        leave memory and their state-cache row."""
        closed = self._closed
        for ticket in tickets:
            closed.pop(ticket, None)
            closed[ticket] = None
        while len(closed) > CLOSED_KEPT:
            ticket = next(iter(closed))
            del closed[ticket]
            self._reached_by.pop(ticket, None)
            self._memory.forget(ticket)
            with suppress(StoreError):  # logged by the store; the row is only a cache
                self.store.delete_state(ticket)
