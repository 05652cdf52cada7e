"""A broker that cannot give its account when DTMS starts (a terminal not ready yet):
the account's engine lock and the account the store defends are settled at the start-up
recovery's first read that succeeds, before any trade is acted on, not skipped for the
whole run (dtms_plugin/account_claim.py, docs/dtms.md §8)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from support.dtms_local_rig import Rig

from hookspecs import AccountInfo


def _identified(rig: Rig, lock: Path, identity: str) -> None:
    plain = rig.broker.account

    def account() -> AccountInfo:
        return dataclasses.replace(plain(), identity=identity, engine_lock=str(lock))

    rig.broker.account = account  # type: ignore[method-assign]


async def test_the_account_lock_waits_for_the_broker_not_for_the_next_run(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "account.dtms-engine.lock"
    rig = Rig(tmp_path / "dtms")
    _identified(rig, lock, "paper 7")
    rig.broker.query_error = True
    await rig.start()
    try:
        await rig.cycles(2)
        assert not lock.exists()  # the broker has not said which account yet
        rig.broker.query_error = False
        await rig.cycles(1)
        assert str(os.getpid()) in lock.read_text()  # claimed at the recovery's first answer
    finally:
        await rig.stop()
