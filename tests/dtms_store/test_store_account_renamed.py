"""The account a directory store defends, told apart by its login: a MetaTrader trade
server renamed or moved by its broker keeps the account's trades (an archive of every
record would drop its HEDGED pairs and deadlines), another login leaves them behind
(dtms_plugin/local_account_change.py, docs/dtms.md §8)."""

from __future__ import annotations

import logging
from pathlib import Path

from dtms_plugin.local_account_change import settle_account_change
from dtms_plugin.store import Store
from hookspecs import AccountInfo


def _account(identity: str, login: int) -> AccountInfo:
    return AccountInfo(login, 1e4, 1e4, "hedging", identity=identity)


def test_a_renamed_server_keeps_the_trades_another_login_does_not(tmp_path: Path) -> None:
    log = logging.getLogger("test.account")
    with Store(tmp_path / "dtms") as store:
        store.put_record(7, {"ticket": 7, "state": "HEDGED"})
        assert not settle_account_change(store, _account("Broker-Demo 1234", 1234), log)
        assert not settle_account_change(store, _account("Broker-Demo2 1234", 1234), log)
        assert set(store.records()) == {7}
        assert store.get_value("account") == {"identity": "Broker-Demo2 1234", "login": 1234}
        assert settle_account_change(store, _account("Other-Live 99", 99), log)
        assert store.records() == {} and store.archived(7)
