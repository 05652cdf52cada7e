"""The local strategy's hold on its store and account at start-up (docs/dtms.md §8):
the records loaded, and the account's engine lock and ledger taken before any trade is
acted on. :class:`Claims` is a mixin of :class:`dtms_plugin.local.LocalStrategy`, whose
``__init__`` sets the attributes declared here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hookspecs import AccountInfo, DataError, HostView

from .account_claim import claim_account
from .book import TradeBook
from .engine import TradeRecord
from .local_account_change import settle_account_change
from .store import Store, StoreError, StoreProtocol


class Claims:
    log: logging.Logger
    book: TradeBook
    adopt: bool  # a host's own engine (dtms serve's adopts nothing)
    _account_lock: Path | None
    _account_unread: bool

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def store(self) -> StoreProtocol: ...

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        def _open_ledger(self, account: AccountInfo) -> None: ...

    def _load_records(self) -> None:
        for ticket, data in self.store.records().items():
            try:
                self.book.put(TradeRecord.from_json(data))
            except DataError as exc:  # kept in the store, never deleted; reported
                self.log.error("DTMS: unreadable record %s left in the store: %s", ticket, exc)
        held = len(self.records)
        words = getattr(self.store, "loaded_words", None)  # a replica's: the shared store's
        self.log.info("DTMS local engine: %s", words(held) if words else f"{held} records loaded")

    def _claim_account(self, host: HostView) -> None:
        """The account's engine lock, and the account the store defends (its records let
        go of when they are another account's), before any trade is acted on: at
        start-up, or at the recovery's first read when the broker could not say then. A
        BrokerError while it cannot; a StoreError when another engine defends it, or a
        Redis store another account (asked again at each later try: nothing is done, and
        none of that account's records is held, meanwhile)."""
        account = host.broker.account()
        self._account_lock = claim_account(self.store, account)
        self._open_ledger(account)
        if not isinstance(self.store, Store):  # Redis: one account a store, never taken over
            from .redis_account import admit_engine  # imports redis: only when it is one

            try:
                admit_engine(self.store, account)
            except StoreError:
                self.book.clear()  # loaded at start-up, when the account was unread
                raise
        # another account's records: let go of, if loaded already (the recovery's read)
        left = settle_account_change(self.store, account, self.log, adopt=self.adopt)
        if left and self.records:
            self.book.clear()
            self._load_records()
        self._account_unread = False
