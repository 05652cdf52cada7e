"""A host's own engine (the local strategy) on a Redis store defends one account: a host
of another account on the same store URL is refused at start-up in one line, as a remote
host is (dtms_plugin/redis_account.py, docs/scaling.md "One account, one set of settings
per Redis").

The probe's case: a host of account B started on the Redis store a host of account A had
used: it loaded A's 45 records as its own, closed A's five open trades as "position gone
at the broker" (B's broker has no such positions) and took A's account defensive mode,
vetoing all of B's orders; A's next run found its trades CLOSED and started them over."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.dtms_local_rig import Rig
from support.redis_server import RedisServer

from dtms_plugin.store import StoreError
from hookspecs import AccountInfo, BrokerError


def _rig(folder: Path, url: str, login: int, unread: int = 0) -> Rig:
    """``unread``: how many times the broker cannot say its account first."""
    rig = Rig(folder, store=url)
    plain = rig.broker.account
    left = [unread]

    def account() -> AccountInfo:
        if left[0]:
            left[0] -= 1
            raise BrokerError("account_info returned None")
        info = plain()
        return AccountInfo(login, info.balance, info.equity, info.margin_mode,
                           identity=f"paper {login}")  # fmt: skip

    rig.broker.account = account  # type: ignore[method-assign]
    return rig


async def _account_a_with_a_trade(tmp_path: Path, url: str) -> Rig:
    """Account 111's host opens ticket 1 on the store and stops, the trade open."""
    a = _rig(tmp_path / "a", url, 111)
    await a.start()
    await a.open_buy(ticket=1)
    await a.cycles(2)
    await a.stop()
    return a


async def test_a_host_of_another_account_is_refused_and_leaves_the_store_alone(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = redis_server.url()
    a = await _account_a_with_a_trade(tmp_path, url)

    b = _rig(tmp_path / "b", url, 222)
    with pytest.raises(StoreError) as refused:
        await b.start()
    said = str(refused.value)
    assert "defends the trades of account paper 111 (login 111)" in said
    assert "this host's engine's account is paper 222 (login 222)" in said
    assert "a host does not take a store over" in said
    b.strategy.store.close()

    again = await a.restart()  # A's trade is still A's, open and defended
    assert set(again.records) == {1} and again.records[1].is_open
    await a.stop()


async def test_an_account_read_only_after_start_up_is_refused_at_every_try(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The broker could not say its account at start-up (nor at start-up's recovery), so
    the check ran at the first cycle: its refusal failed that cycle, and the next one,
    checking no more, closed the other account's trade as gone at the broker."""
    url = redis_server.url()
    a = await _account_a_with_a_trade(tmp_path, url)

    b = _rig(tmp_path / "b", url, 222, unread=2)
    await b.start()  # the account unread: the check waits for the first cycle
    for _ in range(3):
        with pytest.raises(StoreError, match="defends the trades of account paper 111"):
            await b.cycles(1)
        assert b.strategy.records == {}  # none of the other account's records is held
    b.strategy.store.close()

    again = await a.restart()
    assert set(again.records) == {1} and again.records[1].is_open
    await a.stop()
