"""The WARNING of a store that held another account's trades says what happens to the
new account's positions: a host's own engine adopts them; ``dtms serve`` adopts none
(docs/dtms.md §8), so it must not say it does."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dtms_plugin.local_account_change import settle_account_change
from dtms_plugin.store import Store
from hookspecs import AccountInfo

OLD = AccountInfo(4565637, 10_000.0, 10_000.0, "hedging", identity="paper 4565637")
NEW = AccountInfo(9814296, 10_000.0, 10_000.0, "hedging", identity="paper 9814296")


@pytest.mark.parametrize(
    ("adopt", "words"),
    [
        (True, "this account's open positions are adopted"),
        (False, "this account's trades are defended once their programs register them"),
    ],
)
def test_what_the_new_accounts_positions_get_is_said_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, adopt: bool, words: str
) -> None:
    log = logging.getLogger("dtms_plugin.local")
    with Store(tmp_path / "dtms") as store:
        assert not settle_account_change(store, OLD, log, adopt=adopt)
        store.put_record(9001, {"ticket": 9001, "state": "HEALTHY"})
        with caplog.at_level(logging.WARNING, "dtms_plugin.local"):
            assert settle_account_change(store, NEW, log, adopt=adopt)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "account paper 4565637, not of this account paper 9814296" in said[0]
    assert f"rails start afresh; {words} (a store per account" in said[0]
