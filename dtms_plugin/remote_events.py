"""What a DTMS server did to this host's trades, told to this host's plugins.

Why: under the local engine every transition fires ``on_state_change`` with its reason and
score breakdown, and every action ``on_action``. Under the remote strategy the engine runs
in ``dtms serve``, and the batch refresh brings states only: a host's notifier heard "DTMS
server" and no action at all. The server's history (``GET /dtms/actions?ticket=``) holds
both, so the strategy tells the plugins its entries, in order, once each.

How, without a request per trade per cycle: each entry of the batch refresh carries
``history_mark`` (``server/views.py``), which changes whenever the trade's history may
have grown; the history is read only for a ticket whose mark moved, and only the entries
after the last one told are told (a state change through ``report_state_change``, an
action through ``report_action``). What was told is kept per ticket in the store
(:data:`CURSORS_KEY`, written after each entry told), so a restart or a refresh that
failed midway tells nothing twice and nothing is skipped. A ticket the host saw close is
still followed until the server has it CLOSED and its history is read (the close the
server made, its hedge closed after it). A server that sends no mark (an earlier version)
gets the behaviour from before: its state changes are told as "DTMS server", no actions.
Trades handed to the server by an earlier version of this plugin keep that behaviour too,
until they close: what their plugins already heard is not known.

The base of :class:`dtms_plugin.remote_states.RemoteStates`, whose refresh calls it (a
part of :class:`dtms_plugin.remote.RemoteStrategy`, apart so each file stays readable).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

import orjson

from hookspecs import Action, ActionKind, ActionResult, BrokerError, DataError, HostView, ResultCode

from .http_client import BAD_URL_ERRORS, TRANSIENT_ERRORS, RemoteApi, describe
from .remote_health import ServerHealth
from .server.views import EMPTY_HISTORY  # a trade handed over is read once its mark is another
from .store import StoreError, StoreProtocol
from .ticket_text import ticket_in

#: The store values holding, per ticket followed, what was told (:class:`RemoteEvents`):
#: ``remote:history:<n>``, the tickets whose remainder by :data:`CURSOR_BUCKETS` is n. In
#: buckets, so telling an entry rewrites a small value, not every open trade's cursor (a
#: value per ticket would leave a row behind each closed trade: values are never deleted).
CURSORS_KEY = "remote:history"
CURSOR_BUCKETS = 64
#: History entries asked first; when the last one told is not among them, the most the
#: server sends (``GET /dtms/actions`` answers at most 1000).
FIRST_READ = 16
FULL_READ = 1000
#: Reads of one unchanged mark that find the server's state without the history entry
#: that leads to it before the state is told as the batch says it ("DTMS server"): the
#: server writes the record first and the entry a moment later, or lost the entry.
INCOMPLETE_READS = 3
#: ``Action.source`` of an entry written before the server kept it: the engine's.
ENGINE_SOURCE = "dtms"
_CLOSED = "CLOSED"


def entry_digest(entry: Mapping[str, Any]) -> str:
    """An entry's identity: the server's history is append-only and an entry never
    changes, so its content names it."""
    text = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2s(text, digest_size=8).hexdigest()


def action_of(entry: Mapping[str, Any]) -> tuple[Action, ActionResult]:
    """The ``Action`` and ``ActionResult`` an ``action`` entry of the history records, as
    the server's own plugins heard them. ``DataError``/``ValueError`` for an entry that
    cannot be one (its ticket, kind or key). A result code this version does not know
    keeps its name in the message, read as a success or a refusal by ``ok``."""
    ok = entry.get("ok")
    if not isinstance(ok, bool):
        raise DataError(f"ok: expected true or false, got {ok!r}")
    params, source = entry.get("params"), entry.get("source")
    action = Action(
        ticket=entry.get("ticket"),  # type: ignore[arg-type]  # checked by Action
        kind=ActionKind(str(entry.get("kind"))),
        params=dict(params) if isinstance(params, Mapping) else {},
        reason=str(entry.get("reason") or ""),
        key=str(entry.get("key") or ""),
        source=source if isinstance(source, str) else ENGINE_SOURCE,
    )
    message = str(entry.get("message") or "")
    try:
        code = ResultCode(str(entry.get("code")))
    except ValueError:
        code = ResultCode.OK if ok else ResultCode.REJECTED
        message = f"{entry.get('code')}: {message}"
    filled = entry.get("filled_volume")
    netting = entry.get("netting")
    result = ActionResult(
        ok=ok,
        code=code,
        message=message,
        new_ticket=_int_or_none(entry.get("new_ticket")),
        filled_volume=float(filled) if isinstance(filled, int | float) else None,
        netting=netting if netting in ("added", "reduced", "closed", "reversed") else None,
    )
    return action, result


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _same_trade(entry: Mapping[str, Any], opened_at: object) -> bool:
    """Whether ``entry`` is about the trade opened at ``opened_at`` (an entry or a cursor
    that does not say is)."""
    theirs = entry.get("opened_at")
    if not isinstance(theirs, str) or not isinstance(opened_at, str):
        return True
    try:
        return datetime.fromisoformat(theirs) == datetime.fromisoformat(opened_at)
    except ValueError:
        return True


class RemoteEvents:
    """The history told; the attributes are the strategy's (``_cursors`` its own).

    A cursor, per ticket: ``mark`` the last ``history_mark`` whose entries were all told
    (``None``: not followed yet; :data:`EMPTY_HISTORY` at first), ``last`` the
    digest of the last entry passed, ``state`` the state the plugins last heard of it,
    ``opened_at`` the trade's opening (an entry of another trade of the ticket is passed
    over untold)."""

    log: logging.Logger
    _client: RemoteApi | None
    _host: HostView | None
    _open: set[int]
    _held_said: set[int]  # reported CLOSED there, held open here: said (_held_here)
    _health: ServerHealth
    _cursors: dict[int, dict[str, Any]]
    _incomplete: dict[int, tuple[str, int]]
    _actions_heard: int
    #: ``RemoteStates._reached_state`` (the subclass): only annotated here
    _reached_state: Callable[..., Awaitable[None]]

    @property
    def store(self) -> StoreProtocol:
        raise NotImplementedError

    # ------------------------------------------------------------------ cursors

    def _load_cursors(self) -> None:
        for bucket in range(CURSOR_BUCKETS):
            saved = self.store.get_value(f"{CURSORS_KEY}:{bucket}")
            for key, cursor in (saved if isinstance(saved, dict) else {}).items():
                ticket = ticket_in(key)
                if ticket is not None and isinstance(cursor, dict):
                    self._cursors[ticket] = cursor

    def _save_cursors(self, *tickets: int) -> None:
        """Write the cursors of ``tickets`` (their buckets: :data:`CURSORS_KEY`)."""
        for bucket in sorted({t % CURSOR_BUCKETS for t in tickets}):
            kept = {str(t): c for t, c in self._cursors.items() if t % CURSOR_BUCKETS == bucket}
            # a failure is logged by the store; memory still holds what was told
            with suppress(StoreError):
                self.store.put_value(f"{CURSORS_KEY}:{bucket}", kept)

    def _follow(self, ticket: int, opened_at: str) -> None:
        """A trade handed to the server: its history is told from its start (what was
        passed of the ticket's history stays passed: a registration sent again)."""
        kept = self._cursors.get(ticket, {})
        self._cursors[ticket] = {"mark": None, "last": kept.get("last"), "state": "HEALTHY",
                                 "opened_at": opened_at}  # fmt: skip

    def _told_closed(self, ticket: int) -> None:
        """The host told its plugins the trade closed: the server's own change to CLOSED
        is not told again; its history is still followed (what the server did last)."""
        cursor = self._cursors.get(ticket)
        if cursor is not None and cursor.get("mark") is None:
            del self._cursors[ticket]  # never followed: the server may not send marks
        elif cursor is not None:
            cursor["state"] = _CLOSED

    def _closed_here(self, ticket: int, cursor: Mapping[str, Any]) -> bool:
        """Whether the plugins heard ``ticket`` CLOSED and this host saw it close: no
        state change of it is told after that. One the server reported CLOSED that this
        host still holds (:meth:`_held_here`) is told what the server does next."""
        return cursor.get("state") == _CLOSED and ticket not in self._open

    def _held_here(self, states: Mapping[int, str | None]) -> set[int]:
        """The tickets of ``states`` the server has CLOSED that this host still holds:
        handed by it, their close never seen here (``on_trade_closed``), and listed open
        by its broker, the truth of its own positions. The server's CLOSED may be another
        program's close report for a position still open, which the server undoes once its
        broker lists the position again (docs/dtms.md §8): they stay open here, refreshed
        and followed, so that reopening and what follows are told and ``is_defensive``
        answers from the server's state again. Said once at WARNING while the server has
        them CLOSED; a broker that cannot answer keeps them until the next refresh asks."""
        self._held_said -= {t for t, s in states.items() if s != _CLOSED}
        self._held_said &= self._open
        held: set[int] = set()
        if self._host is None:
            return held
        for ticket in sorted(t for t, s in states.items() if s == _CLOSED and t in self._open):
            try:
                listed = self._host.broker.position(ticket) is not None
            except BrokerError:
                held.add(ticket)  # not known now: asked again at the next refresh
                continue
            if not listed:
                continue  # closed here too: the host's own close report follows
            held.add(ticket)
            if ticket not in self._held_said:
                self._held_said.add(ticket)
                self.log.warning(
                    "DTMS server reports ticket %s CLOSED, but this host's broker still "
                    "lists its position open: watched here until the position closes or the "
                    "server reopens its record (a close reported for a position still "
                    "open, or the server's own close not filled yet)", ticket,
                )  # fmt: skip
        return held

    def _draining(self) -> set[int]:
        """Closed here, still followed: refreshed until the server has them CLOSED."""
        return {t for t, c in self._cursors.items() if c.get("mark") is not None} - self._open

    def _server_view(self, states: dict[int, str | None]) -> dict[int, str | None]:
        """``states`` without those of trades this host closed that the server has not
        closed yet (its close report is on its way): the host's CLOSED stands in its cache
        and its plugins' ears. One the server no longer knows is followed no more."""
        out: dict[int, str | None] = {}
        for ticket, state in states.items():
            if ticket in self._cursors and ticket not in self._open and state != _CLOSED:
                if state is None:
                    self._drop(ticket)
                continue
            out[ticket] = state
        return out

    def _drop(self, ticket: int, *, save: bool = True) -> bool:
        """Follow ``ticket`` no more; whether it was followed."""
        if self._cursors.pop(ticket, None) is None:
            return False
        self._incomplete.pop(ticket, None)
        if save:
            self._save_cursors(ticket)
        return True

    # ------------------------------------------------------------------ telling

    async def _tell_history(
        self, trades: Mapping[str, Any], states: Mapping[int, str | None]
    ) -> set[int]:
        """Tell the new history entries of the followed tickets of one batch answer
        (``trades``, its ``states``); returns the tickets whose state changes come from
        the history (the others are told from the batch, as before)."""
        followed: set[int] = set()
        reachable = True
        unmarked: list[int] = []
        for ticket in sorted(set(states) & set(self._cursors)):
            entry = trades.get(str(ticket))
            mark = entry.get("history_mark") if isinstance(entry, Mapping) else None
            if not isinstance(mark, str):
                if states[ticket] is not None and self._drop(ticket, save=False):
                    unmarked.append(ticket)  # a server without marks: as before
                continue
            followed.add(ticket)
            if reachable:
                reachable = await self._tell_ticket(ticket, mark, states[ticket])
        self._save_cursors(*unmarked)
        return followed

    async def _tell_ticket(self, ticket: int, mark: str, state: str | None) -> bool:
        """Read and tell ``ticket``'s new entries when its mark moved; False when the
        server did not answer (the rest of this refresh reads none: each would wait)."""
        cursor = self._cursors[ticket]
        if cursor.get("mark") is None:  # followed from now on; none of it told yet: read
            # it once it is not the empty history's (a new trade's, most often)
            cursor["mark"] = EMPTY_HISTORY
        if cursor["mark"] != mark:
            entries = await self._read_new(ticket, cursor)
            if entries is None:
                return False
            for entry in entries:
                await self._tell_entry(ticket, cursor, entry)
                cursor["last"] = entry_digest(entry)
                self._save_cursors(ticket)
            await self._account(ticket, cursor, mark, state)
        if state == _CLOSED and cursor["mark"] == mark and ticket not in self._open:
            self._drop(ticket)  # closed on the server and here, told: nothing more to come
        return True

    async def _account(
        self, ticket: int, cursor: dict[str, Any], mark: str, state: str | None
    ) -> None:
        """``mark`` accounted for once the state the plugins heard is the server's; a
        server whose record is ahead of its history (written a moment before the entry)
        is read again at the next refresh, and after :data:`INCOMPLETE_READS` reads of
        one mark its state is told as the batch says it."""
        heard = cursor.get("state")
        if state is not None and heard != state and not self._closed_here(ticket, cursor):
            seen, reads = self._incomplete.get(ticket, (mark, 0))
            reads = reads + 1 if seen == mark else 1
            if reads < INCOMPLETE_READS:
                self._incomplete[ticket] = (mark, reads)
                return
            self.log.warning(
                "DTMS server's history of ticket %s lacks its change to %s: told as the "
                "batch says it", ticket, state,
            )  # fmt: skip
            await self._reached_state(ticket, heard, state, "DTMS server")
            cursor["state"] = state
        self._incomplete.pop(ticket, None)
        cursor["mark"] = mark
        self._save_cursors(ticket)

    async def _read_new(self, ticket: int, cursor: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The entries of ``ticket``'s history after the last one passed, oldest first;
        all of them when it is not there (a history the server lost, or one longer than
        it sends). None when the server did not answer."""
        last = cursor.get("last")
        entries: list[dict[str, Any]] = []
        for limit in (FIRST_READ, FULL_READ):
            entries_or_none = await self._read(ticket, limit)
            if entries_or_none is None:
                return None
            entries = entries_or_none
            found = [i for i, e in enumerate(entries) if entry_digest(e) == last]
            if found:
                return entries[found[-1] + 1 :]
            if len(entries) < limit:
                break  # the whole history, without the last one passed
        return entries

    async def _read(self, ticket: int, limit: int) -> list[dict[str, Any]] | None:
        assert self._client is not None
        what = f"history of ticket {ticket}"
        try:
            reply = await self._client.actions(ticket, limit)
        except (*TRANSIENT_ERRORS, *BAD_URL_ERRORS) as exc:
            self._health.failed(f"{what}: {describe(exc)}", unanswered=True)
            return None
        body = reply.body.get("actions") if isinstance(reply.body, dict) else None
        if not reply.ok or not isinstance(body, list):
            self._health.failed(
                f"{what}: GET /dtms/actions answered {reply.status}: {reply.message}",
                refused=400 <= reply.status < 500,
            )
            return None
        return [e for e in body if isinstance(e, dict)]

    async def _tell_entry(self, ticket: int, cursor: dict[str, Any], entry: dict[str, Any]) -> None:
        """One entry to the plugins: a state change (not one into the state they last
        heard, nor any once they heard the trade CLOSED and the host saw it close: the
        host's own close, and what the server's history held before it, which would now
        come after it), an action;
        an entry of another trade of the ticket, an unregistration or one that cannot be
        read, to none."""
        if entry.get("ticket") != ticket or not _same_trade(entry, cursor.get("opened_at")):
            return
        kind = entry.get("type", "action")
        if kind == "state_change":
            new = entry.get("to")
            if not isinstance(new, str) or cursor.get("state") == new:
                return
            if self._closed_here(ticket, cursor):
                return
            old = entry.get("from")
            details = entry.get("details")
            await self._reached_state(
                ticket, old if isinstance(old, str) else None, new,
                str(entry.get("reason") or "DTMS server"),
                details if isinstance(details, Mapping) else None,
            )  # fmt: skip
            cursor["state"] = new
        elif kind == "action":
            try:
                action, result = action_of(entry)
            except ValueError as exc:  # a DataError too
                self.log.error("DTMS server's history of ticket %s: unreadable action %r: %s",
                               ticket, entry, exc)  # fmt: skip
                return
            self._actions_heard += 1
            report = getattr(self._host, "report_action", None)
            if report is None:
                return
            try:
                await report(action, result)
            except Exception:
                self.log.exception("DTMS: reporting the server's %s of ticket %s failed",
                                   action.kind.value, ticket)  # fmt: skip
