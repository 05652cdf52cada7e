"""The MetaTrader 5 broker's guard on the account (:class:`~hostapp.brokers.mt5.Mt5Broker`):
the terminal must stay on the account the run started on, checked at every cycle's
connection check, after every reconnect and just before every send (docs/mt5.md,
"Another account mid-run").

A mixin, apart from the connection itself: one rule with three callers, and the one
place that decides when a changed account name is still the same account (a trade server
renamed or moved keeps the login).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from hookspecs import BrokerError

from ..errors import AccountChanged
from .mt5_convert import account_identity, as_dict, error_code, last_error
from .mt5_orders import OrderSender
from .mt5_retcodes import link_lost

#: the broker's logger (:mod:`hostapp.brokers.mt5`), whose lines these were and still are
log = logging.getLogger("hostapp.brokers.mt5")


class AccountGuard:
    """The account check of :class:`~hostapp.brokers.mt5.Mt5Broker`, which sets every
    attribute declared here in its constructor."""

    api: Any
    sender: OrderSender
    #: the account the run started on (``<server> <login>``)
    identity: str
    _renamed_to: str  # the account's name since its server was renamed, once said

    def _same_account(self) -> None:
        """The terminal must still be on the account the run started on: one logged in to
        another (by hand, or a reconnect with ``login = 0``) would have the run trade it
        and read its balance and positions as this run's. An AccountChanged then, and no
        order is sent from here on."""
        raw = self.api.account_info()
        if raw is None:
            if link_lost(error_code(self.api)):
                raise BrokerError(f"account_info() failed: last_error={last_error(self.api)}")
            return  # the terminal answered, not this: the next cycle asks again
        info = as_dict(raw)
        now = account_identity(info)
        if not self.identity:
            self.identity = now
        elif now != self.identity and int(info.get("login") or 0):  # 0: not logged in yet
            if now.rsplit(" ", 1)[-1] == self.identity.rsplit(" ", 1)[-1]:
                self._renamed(now)  # the same login: a trade server renamed or moved
                return
            self.sender.refused_because = f"the terminal is on account {now}, not {self.identity}"
            raise AccountChanged(self.identity, now)

    def _renamed(self, now: str) -> None:
        """The same login on a server of another name (a broker's renamed or moved trade
        server): the same account, as DTMS's store and lock take it; said once."""
        if now != self._renamed_to:
            self._renamed_to = now
            log.warning(
                "MT5: the terminal's account %s is now named %s (the same login on a "
                "server of another name): taken as the same account", self.identity, now,
            )  # fmt: skip

    def _not_our_account(self) -> str:
        """Just before each send: "" while the terminal is on the run's account, else why
        nothing is sent (the switch may come mid-cycle, after the cycle's check). An
        order call never raises: a read that fails here lets the send say so itself."""
        with contextlib.suppress(AccountChanged, BrokerError):
            self._same_account()
        return self.sender.refused_because
