"""The remote strategy's ``allow_order``: which new entries wait (docs/dtms.md §7). A
mixin of :class:`dtms_plugin.remote.RemoteStrategy`, apart so each file stays readable;
the strategy's ``__init__`` sets the attributes declared here.

``allow_order`` is on the host's hot path: it is synchronous and waits on no network. It
answers from what this process keeps in memory and the store's cached account mode:

- the account defensive mode the server decided, as last learned (docs/dtms.md §9);
- a close of this host's that the server has not counted yet, while the server does not
  answer: the mode above is the server's verdict on the closes it has, and a loss the
  host took meanwhile (the close waits in the outbox) would not be in it. An entry right
  after a 50 % loss went through. Once the close is delivered, the server's answer rules
  again;
- a symbol with a HEDGED trade takes no new entries, the local strategy's rule, from the
  states the server last gave and the symbols of the trades this host handed it.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from hookspecs import BrokerError, HostView, OrderRequest, Veto, masked_url

from .defensive import StateCache, account_defensive, account_mode_veto, hedged_symbol_veto
from .remote_health import ServerHealth
from .remote_store import MemoryStates, StoreEpisode
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol

#: The kind of every veto of a close the server has not counted (:class:`hookspecs.Veto`).
UNCOUNTED_VETO = "DTMS server not answering or refusing this host, closes not counted"


class EntryRules:
    settings: DtmsSettings
    log: logging.Logger
    _health: ServerHealth
    _host: HostView | None
    #: tickets whose close report waits in the outbox (or in memory): the server has
    #: not counted it. Kept in memory so ``allow_order`` reads no store for it
    _uncounted: set[int]
    #: whether the current episode of entries waiting for those closes was said
    _uncounted_said: bool
    #: ticket -> symbol of the trades this host handed the server, as far as it knows
    _symbols: dict[int, str]
    #: the tickets the server last said are HEDGED
    _hedged: set[int]
    _store_down: StoreEpisode  # the store out of reach (remote_store)
    _memory: MemoryStates  # the states and mode last learned, in memory (remote_store)

    @property
    def store(self) -> StoreProtocol:
        raise NotImplementedError

    def allow_order(self, host: HostView, order: OrderRequest) -> Veto | None:
        """The account mode as last learned (in memory while the store is out of reach:
        the host's fail-safe vetoed every order then, :mod:`.remote_store`), a close the
        server has not counted, a symbol with a HEDGED trade."""
        cache: StateCache = self._memory if self._store_down.down else self.store
        try:  # the outbox pass asks the store while it is away, not the hot path
            mode = cache.get_account_mode()
        except StoreError as exc:
            self._store_down.failed("reading the account mode", exc)
            mode = self._memory.get_account_mode()
        if mode is not None and account_defensive(mode, host.clock.now()):
            return account_mode_veto(mode)
        veto = self._uncounted_veto()
        if veto is not None:
            return veto
        for ticket in self._hedged:
            if self._symbols.get(ticket) == order.symbol:
                return hedged_symbol_veto(order.symbol, ticket)
        return None

    def _uncounted_veto(self) -> Veto | None:
        """The veto while a close waits for a server that does not answer; said once per
        episode at WARNING, and at INFO when entries no longer wait."""
        count = len(self._uncounted)
        if not count or not self._health.down:
            if self._uncounted_said:
                self._uncounted_said = False
                why = "it has them" if not count else "it answers again"
                self.log.info("DTMS: new entries no longer wait for closes: %s", why)
            return None
        refused = self._health.refused
        how = f"refusing this host ({refused})" if refused else "not answering"
        what = f"DTMS server {how} with {count} close(s) it has not counted"
        if not self._uncounted_said:
            self._uncounted_said = True
            self.log.warning(
                "%s (%s; tickets %s): new entries wait until it has them, as its account "
                "rails could not judge them", what, masked_url(self.settings.api_url),
                ", ".join(map(str, sorted(self._uncounted))),
            )  # fmt: skip
        return Veto(f"{what}: entries wait until it has them", UNCOUNTED_VETO)

    def _note_states(self, states: dict[int, str | None]) -> None:
        """The states a refresh brought: which trades are HEDGED. One whose symbol this
        process does not know (handed in an earlier run) is looked up at the broker."""
        for ticket, state in states.items():
            if state != "HEDGED":
                self._hedged.discard(ticket)
                continue
            self._hedged.add(ticket)
            if ticket not in self._symbols:
                self._learn_symbol(ticket)

    def _seed_hedged(self, tickets: set[int]) -> None:
        """At start-up, before the first refresh: the open trades the state cache last
        saw HEDGED (a refresh corrects it), so the first entries of a run are judged."""
        for ticket in tickets:
            with suppress(StoreError):  # logged by the store; the first refresh tells
                cached = self.store.get_state(ticket)
                if cached is not None and cached[0] == "HEDGED":
                    self._note_states({ticket: "HEDGED"})

    def _learn_symbol(self, ticket: int) -> None:
        broker = getattr(self._host, "broker", None)
        if broker is None:
            return
        try:
            position = broker.position(ticket)
        except BrokerError:
            return  # asked again at the next refresh that finds it HEDGED
        if position is not None:
            self._symbols[ticket] = position.symbol
