"""Positions the broker stopped listing, held until its history says how they closed.

A live broker's list of open positions is not the word of its trade server: MetaTrader's
``positions_get()`` answers from the terminal's copy, which can be empty for a moment
(a terminal that has just reconnected and not synchronised), and the deals that closed a
position can reach ``history_deals_get`` a moment after the position left the list
(docs/mt5.md, "Closes the server made"). Reporting a position closed the first time the
list lacks it tells the plugins of a close that did not happen (a defender stops defending
a live trade), or of one that did with the last floating profit and no close price (a
defender's daily-loss rail sums the wrong figure, and a stop hit is heard as
``external``).

So a position the list lacks is reported closed only once the broker confirms it: its
closing deals in the history (:class:`hookspecs.CloseReasons`,
:class:`hookspecs.ClosedPositions`), which give its real result, price and reason. Asking
the terminal for that one ticket (``positions_get(ticket=…)``) would confirm nothing: it
answers from the same copy as the list. A broker that keeps no history
(:class:`hookspecs.Broker` alone) can only confirm by :meth:`~hookspecs.Broker.position`
no longer finding it, and is reported at once with the last view, as before.

Until then it is asked about again at every sweep, for a minute
(:data:`hookspecs.UNCONFIRMED_CLOSE_SECONDS`, which says why); a position the list shows
again was never closed, and is watched on. Past the bound it is reported with what is
known (its last view, the phase that found it gone) and a warning says so. A list that
drops every position at once while none has a closing deal is most likely the terminal's
copy and not the market: that is said once per episode, with how many sweeps it lasted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from hookspecs import (
    UNCONFIRMED_CLOSE_SECONDS,
    Broker,
    ClosedPositions,
    CloseReason,
    CloseReasons,
    Trade,
)

#: what the loop reports: a closed trade and why
Close = tuple[Trade, CloseReason]


@dataclass
class _Missing:
    last: Trade  # the last open view
    since: datetime  # when the list first lacked it
    reason: CloseReason  # the phase that first found it gone


@dataclass
class _Suspect:
    """An episode of lists that dropped every position with no close in the history."""

    since: datetime
    positions: int  # how many it dropped
    said: bool  # its start was said
    sweeps: int = 1
    back: int = 0  # how many of them were listed again


class GonePositions:
    """The positions the broker's list lacks and whose close it has not confirmed yet."""

    def __init__(self, broker: Broker, log: logging.Logger) -> None:
        self.log = log
        self._position = broker.position
        self._with_reason = broker.closed_with_reason if isinstance(broker, CloseReasons) else None
        self._trade = broker.closed_trade if isinstance(broker, ClosedPositions) else None
        self._missing: dict[int, _Missing] = {}
        self._suspect: _Suspect | None = None
        #: the lists in a row of each episode said (:meth:`_watch`), for the summary
        self.unsynced: list[int] = []

    def __bool__(self) -> bool:
        return bool(self._missing)

    def sweep(
        self, now: datetime, reason: CloseReason, known: dict[int, Trade], current: dict[int, Trade]
    ) -> list[Close]:
        """Move the positions of ``known`` that ``current`` (the broker's list) lacks to
        the missing ones, and give back those whose close is confirmed, or whose time to
        be confirmed ran out, with why each closed: the broker's reason (its stop, its
        target), else the phase that first found it gone (``reason`` now)."""
        missing = self._missing
        back = [t for t in missing if t in current]
        for ticket in back:
            del missing[ticket]  # listed again: it never closed
        dropped = [t for t in known if t not in current]
        for ticket in dropped:
            missing[ticket] = _Missing(known.pop(ticket), now, reason)
        closes: list[Close] = []
        for ticket, gone in list(missing.items()):
            closed = self._confirmed(ticket)
            if closed is not None:
                del missing[ticket]
                closes.append((closed[0], closed[1] or gone.reason))
            elif (now - gone.since).total_seconds() >= UNCONFIRMED_CLOSE_SECONDS:
                del missing[ticket]
                self._unconfirmed(gone)
                closes.append((gone.last, gone.reason))
        # every position dropped at once, and none of them closed in the history
        suspect = bool(dropped) and not known and not current
        self._watch(now, suspect and all(t in missing for t in dropped), len(back), bool(current))
        return closes

    def _confirmed(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        if self._with_reason is not None:
            return self._with_reason(ticket)
        if self._trade is not None:
            closed = self._trade(ticket)
            return None if closed is None else (closed, None)
        gone = self._position(ticket) is None
        return (self._missing[ticket].last, None) if gone else None

    def _unconfirmed(self, gone: _Missing) -> None:
        t = gone.last
        self.log.warning(
            "position %s (%s %g %s) left the broker's list %.0f s ago and its history still "
            "shows no close: reported closed (%s) with its last view, profit %+.2f as it "
            "floated then and no close price",
            t.ticket, t.direction, t.volume, t.symbol, UNCONFIRMED_CLOSE_SECONDS, gone.reason,
            t.profit,
        )  # fmt: skip

    def _watch(self, now: datetime, suspect: bool, back: int, listed: bool) -> None:
        """An episode of lists that dropped every position at once, none closed in the
        history. Two or more are said when it starts; one alone is what a stop hit while
        the history lags looks like, so it is said only if it is listed again. Its end
        (the list shows positions again, or nothing is missing any more) is said when
        its start was, or when a position came back."""
        episode = self._suspect
        if episode is None:
            if suspect:
                self._suspect = _Suspect(now, len(self._missing), said=len(self._missing) > 1)
            if suspect and len(self._missing) > 1:
                self.log.warning(
                    "the broker listed none of the %d open positions and its history shows "
                    "none of them closed: taken for a terminal whose list is not "
                    "synchronised, not for closes; they are asked about again for up to "
                    "%.0f s (said again when the episode ends)",
                    len(self._missing), UNCONFIRMED_CLOSE_SECONDS,
                )  # fmt: skip
            return
        episode.back += back
        if not listed and self._missing:
            episode.sweeps += 1
            return
        self._suspect = None
        if not (episode.said or episode.back):
            return
        self.unsynced.append(episode.sweeps)
        still = len(self._missing)
        seconds = (now - episode.since).total_seconds()
        over = f"over {seconds:.0f} s" if seconds >= 1 else "within a second"
        self.log.warning(
            "the broker's list lacked every position %d times in a row %s while its "
            "history showed none of them closed: of the %d positions it dropped, %d were "
            "listed again (it had lacked open positions), %d closed, %d still missing",
            episode.sweeps, over, episode.positions, episode.back,
            episode.positions - episode.back - still, still,
        )  # fmt: skip

    def at_end(self) -> list[int]:
        """The run stops: say the positions still waiting for their close to show in the
        history, and give their tickets. They are not reported to the plugins with a
        guess; a restarted host finds them closed (or open) and its plugins reconcile."""
        waiting = sorted(self._missing)
        if waiting:
            self.log.warning(
                "%d position(s) had left the broker's list without a close in its history "
                "when the run stopped, not reported to the plugins: %s",
                len(waiting), ", ".join(map(str, waiting)),
            )  # fmt: skip
        if self._suspect is not None and self._suspect.said:  # still under way
            self.unsynced.append(self._suspect.sweeps)
        self._missing.clear()
        self._suspect = None
        return waiting


def unsynced_note(episodes: list[int]) -> str | None:
    """The summary's words for the episodes of lists that lacked every open position
    while the history showed none closed (:meth:`GonePositions._watch`): the log said
    each, the summary said none."""
    if not episodes:
        return None
    times = "once" if len(episodes) == 1 else f"{len(episodes):,} times"
    return (
        f"the broker's list lacked every open position while its history showed none of "
        f"them closed {times} ({sum(episodes):,} lists in all): taken for a terminal whose "
        "list was not synchronised, not for closes (the log says each episode)"
    )


def unconfirmed_note(tickets: list[int]) -> str | None:
    """The summary's words for the positions :meth:`GonePositions.at_end` gave: in none of
    its counts (not open at the end, no close), so a reader learns why they are missing."""
    if not tickets:
        return None
    n = len(tickets)
    listed = ", ".join(map(str, tickets[:10])) + (f" and {n - 10:,} more" if n > 10 else "")
    return (
        f"{n:,} position{'s' if n > 1 else ''} ({listed}) had left the broker's list with no "
        "close in its history when the run stopped: not reported to the plugins and in "
        "none of the counts here (neither open at the end nor closed); a plugin keeping "
        "records of them learns how they closed from the broker when it next starts"
    )
