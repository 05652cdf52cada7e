"""What the trading loop counts and keeps for the summary: :class:`LoopStats` and the bounded
lists a live run keeps instead of every trade since it started.

A module of its own because its readers are not the loop: the report
(:mod:`hostapp.report`), the A/B comparison, the run driver and the host only read these
figures, and need none of the cycle's machinery. :mod:`hostapp.loop` re-exports every name
here, so ``from hostapp.loop import LoopStats`` keeps working.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hookspecs import DefensiveState, Trade

#: Trades (and state changes, actions) a live run's report keeps for its per-trade
#: figures: a host that runs for months holds these, not every trade since it started.
#: Counts (trades opened and closed, closes by reason, actions, the trades that reached
#: each state) stay totals; win rate, R and the other per-trade figures cover the newest
#: ``LIVE_WINDOW``, and the summary says so (``figures_cover``).
LIVE_WINDOW = 1000


#: Distinct kinds of veto counted one by one (:meth:`LoopStats.veto`); later ones go
#: under :data:`OTHER_VETOES`.
VETO_REASONS = 100
OTHER_VETOES = "other kinds"


class Recent(deque[Any]):
    """The newest ``maxlen`` items of a list a live run would otherwise grow for months,
    with a running count of every item appended, in total and by ``key`` (the summary's
    totals stay exact while its per-trade figures cover the window)."""

    def __init__(self, items: Iterable[Any], maxlen: int, key: Callable[[Any], Any]) -> None:
        super().__init__(maxlen=maxlen)
        self.key = key
        self.appended = 0
        self.by_key: Counter[Any] = Counter()
        for item in items:
            self.append(item)

    def append(self, item: Any) -> None:
        super().append(item)
        self.appended += 1
        self.by_key[self.key(item)] += 1


class RecentEntries(Recent):
    """A live run's newest entries, with the tickets of those still open: what tells the
    closes that follow which are this run's trades (:class:`RecentCloses`), however long
    ago they were entered."""

    def __init__(self, items: Iterable[Any], maxlen: int) -> None:
        self.open: set[int] = set()
        super().__init__(items, maxlen, key=lambda e: e[2])

    def append(self, item: Any) -> None:
        super().append(item)
        self.open.add(item[1].ticket)


class RecentCloses(Recent):
    """A live run's newest closes, with how many closed one of the run's own entries in
    all (``trades_closed``: the summary's "trades closed", a total as "trades opened" is;
    the per-trade figures of the window count only the newest)."""

    def __init__(self, items: Iterable[Any], maxlen: int, entries: RecentEntries) -> None:
        self.entries = entries
        self.trades_closed = 0
        super().__init__(items, maxlen, key=lambda c: c[2])

    def append(self, item: Any) -> None:
        super().append(item)
        ticket = item[1].ticket
        if ticket in self.entries.open:
            self.entries.open.discard(ticket)
            self.trades_closed += 1


class RecentStates(Recent):
    """A live run's newest state changes ``(time, ticket, old, new, reason)``, with how
    many trades moved into each state in all (``reached``): a trade counts once per state
    however often it falls back into it, as the summary of a replay counts it. The states
    of the newest :data:`REACHING_KEPT` trades are remembered for that (a trade's changes
    come within its life; ten thousand trades back it is long closed)."""

    def __init__(self, items: Iterable[Any], maxlen: int) -> None:
        self.reached: Counter[str] = Counter()
        self._reaching: dict[int, set[str]] = {}
        super().__init__(items, maxlen, key=lambda s: s[3])

    def append(self, item: Any) -> None:
        super().append(item)
        ticket, state = item[1], item[3].value
        seen = self._reaching.setdefault(ticket, set())
        if state not in seen:
            seen.add(state)
            self.reached[state] += 1
        if len(self._reaching) > REACHING_KEPT:
            del self._reaching[next(iter(self._reaching))]


#: Open trades whose states reached a live run's summary remembers (:class:`RecentStates`).
REACHING_KEPT = 10_000


def reached_by_state(states: Sequence[tuple[datetime, int, Any, Any, str]]) -> dict[str, int]:
    """How many trades moved into each state (``DefensiveState`` values): a live run's
    running totals (:class:`RecentStates`), else counted from every state change."""
    if isinstance(states, RecentStates):
        return {s.value: states.reached[s.value] for s in DefensiveState}
    reached: dict[str, set[int]] = {s.value: set() for s in DefensiveState}
    for _, ticket, _, new, _ in states:
        reached[new.value].add(ticket)
    return {k: len(v) for k, v in reached.items()}


def appended(items: Sequence[Any]) -> int:
    """How many items were ever added: all of a list, or a :class:`Recent`'s count."""
    return items.appended if isinstance(items, Recent) else len(items)


def counted(items: Sequence[Any], key: Callable[[Any], Any]) -> Counter[Any]:
    """Items by ``key``: a :class:`Recent`'s running count (its own key), else counted."""
    return Counter(items.by_key) if isinstance(items, Recent) else Counter(map(key, items))


@dataclass
class LoopStats:
    """What the loop did, for the summary."""

    cycles: int = 0
    bars: int = 0
    orders_proposed: int = 0
    orders_vetoed: dict[str, int] = field(default_factory=dict)
    orders_rejected: int = 0
    entries_veto_overridden: int = 0  # scripted entries a plugin would have vetoed
    #: the same, by the plugin that would have vetoed (``Veto.plugin``)
    entries_veto_overridden_by: dict[str, int] = field(default_factory=dict)
    entries: list[tuple[datetime, Trade, str]] = field(default_factory=list)  # (time, trade, by)
    closes: list[tuple[datetime, Trade, str]] = field(default_factory=list)  # (time, trade, reason)
    interrupted: bool = False
    #: the broker's refusals of orders by result code: how many, and the first message
    refusals: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: orders that changed a netting account's position instead of opening one, by what
    #: they did (``ActionResult.netting``: added, reduced, closed)
    netted: dict[str, int] = field(default_factory=dict)
    #: live cycles skipped because the broker failed (the terminal went away), and why
    #: the last one was
    cycles_skipped: int = 0
    skip_error: str = ""
    #: why a live run stopped on its own: the broker's terminal went over to another
    #: account (:class:`hostapp.errors.AccountChanged`); "" otherwise
    account_changed: str = ""
    #: a ``--speed`` live run that stopped because its data ended: its last bar's time
    #: (the run plays its bars once; a live broker's run never ends so)
    data_ended: datetime | None = None
    #: the positions already open at the run's first cycle (a restarted host's, a
    #: resumed account's), and how many of them closed during it, with their profit:
    #: running totals, as a live run keeps only its newest entries and closes
    open_at_start: set[int] = field(default_factory=set)
    carried_profit: float = 0.0
    carried_tickets: set[int] = field(default_factory=set)  # of those closed (at most all)
    #: the entries proposed and not opened, as ``(time, symbol, direction, why)``; ``why``
    #: is ``("vetoed", plugin)``, ``("refused", result code)`` or ``("netted", what it did)``:
    #: an A/B tells the baseline's trades a plugin kept out from those the broker refused
    #: (no money left)
    missed: list[tuple[datetime, str, str, tuple[str, str]]] = field(default_factory=list)
    #: the positions that had left the broker's list with no close in its history when
    #: the run stopped (:mod:`hostapp.loop_gone`): neither open nor closed in the summary
    unconfirmed_at_end: list[int] = field(default_factory=list)
    #: the lists in a row of each episode of lists that lacked every open position, none
    #: closed in the history (:mod:`hostapp.loop_gone`)
    unsynced_lists: list[int] = field(default_factory=list)
    #: the first order refused for want of money since the last one that went through:
    #: its time and the bars seen by then (:mod:`hostapp.ran_dry`); ``None`` once one
    #: goes through again
    dry_from: tuple[datetime, int] | None = None

    @property
    def carried_closes(self) -> int:
        """How many of :attr:`open_at_start` closed during the run (a position closes
        once: the loop reports each close once)."""
        return len(self.carried_tickets)

    def carried_closed(self, ticket: int, profit: float) -> None:
        self.carried_profit += profit
        self.carried_tickets.add(ticket)

    def refused(self, code: str, message: str, when: datetime | None = None) -> None:
        """Count an order the broker refused (``orders_rejected`` and by its code); one
        refused for want of money at ``when`` may be where the account ran dry."""
        self.orders_rejected += 1
        if code == "no_money" and when is not None and self.dry_from is None:
            self.dry_from = (when, self.bars)
        count, first = self.refusals.get(code, (0, message))
        self.refusals[code] = (count + 1, first)

    def veto(self, kind: str) -> None:
        """Count a vetoed order by its kind (:class:`hookspecs.Veto`); a plain string veto
        is a kind of its own and may name a ticket or a time, so past
        :data:`VETO_REASONS` distinct kinds the rest are counted together."""
        vetoed = self.orders_vetoed
        if kind not in vetoed and len(vetoed) >= VETO_REASONS:
            kind = OTHER_VETOES
        vetoed[kind] = vetoed.get(kind, 0) + 1

    def overridden(self, plugin: str) -> None:
        """Count a scripted entry opened although ``plugin`` vetoed it."""
        self.entries_veto_overridden += 1
        by = self.entries_veto_overridden_by
        by[plugin] = by.get(plugin, 0) + 1

    def bound(self, window: int) -> None:
        """Keep only the newest ``window`` entries and closes (a live run), counting all."""
        entries = RecentEntries(self.entries, window)
        self.entries = entries  # type: ignore[assignment]
        self.closes = RecentCloses(self.closes, window, entries)  # type: ignore[assignment]
        self.missed = Recent(self.missed, window, key=lambda m: m[3])  # type: ignore[assignment]
