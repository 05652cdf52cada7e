"""A MetaTrader account's DTMS switched from the state folder's store to Redis while its
trade is open, DTMS having closed half of it: the run on Redis takes the trade up from
the account's ledger, kept in the user's state folder beside the account's engine lock
(``hostapp/locks/mt5-<server>-<login>.dtms-ledger.json``, dtms_plugin/account_ledger.py),
and the trade server is sent no second partial close (docs/scaling.md, "Switching the
store"). Before, the trade was adopted afresh, HEALTHY, and its 0.5 lots were halved again
on the way down to the hedge. Real parts: the MetaTrader broker over the fake terminal,
a diskcache store in ``tmp_path``, a real redis-server."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from hostapp_mt5.test_mt5_dtms_ladder import Mt5Rig, _sent
from support.redis_server import RedisServer

from dtms_plugin.account_ledger import ledger_path
from hookspecs import DefensiveState


async def test_a_switch_to_redis_sends_no_second_partial_close(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rig = Mt5Rig(tmp_path / "dtms", hedging=True)
    await rig.start()
    ticket = await rig.buy()
    await rig.reach(ticket, DefensiveState.WARNING_L2)
    assert ("close", ticket, 0.5) in _sent(rig.fake)
    await rig.stop()

    rig.settings = dataclasses.replace(rig.settings, store=redis_server.url())
    strategy = await rig.restart()
    taken = strategy.records[ticket]
    await rig.reach(ticket, DefensiveState.HEDGED)
    sent = _sent(rig.fake)
    assert [s for s in sent if s[:2] == ("close", ticket)] == [("close", ticket, 0.5)]
    assert [s[1:3] for s in sent if s[0] == "open"] == [(f"DTMS_HEDGE_{ticket}", 0.25)]
    assert taken.state is DefensiveState.WARNING_L2  # as the folder's store left it
    ledger = ledger_path(rig.mt5.account())  # in the user's state folder, the lock's
    assert ledger is not None and ledger.is_file()
    assert ledger.parent == Path(os.environ["XDG_STATE_HOME"], "hostapp", "locks")
    assert ledger.name.startswith("mt5-") and ledger.name.endswith(".dtms-ledger.json")
    await rig.stop()
