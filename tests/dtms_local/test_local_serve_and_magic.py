"""Two rules at the seams of the local strategy. In ``dtms serve`` (``adopt`` off) a
client's close report is the trade's outcome: a position the server's broker still lists
for a cycle no longer reopens the record and loses it. And a hedge the host's broker
opened for a trade of magic 0 carries the broker's own magic (MetaTrader gives an order
without one ``[host.mt5] magic``): a lost one is found by that magic, not sent again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hostapp_mt5.mt5_helpers import connect, make_fake
from support.dtms_kit import T0
from support.dtms_local_rig import Rig

from dtms_plugin.engine import begin, finish, outcome_from_broker, register
from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import Action, ActionKind, ActionResult, DefensiveState, ResultCode


async def test_a_clients_close_report_stands_while_the_broker_still_lists_it(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path / "dtms")
    rig.host.mode = "serve"
    rig.strategy = LocalStrategy(rig.settings, adopt=False)
    await rig.start()
    await rig.open_buy(ticket=1)
    await rig.cycles(2)
    position = rig.broker.open_positions[1]
    closed = replace(position, profit=25.0, close_price=2010.0)
    await rig.strategy.on_trade_closed(rig.host, closed, "take_profit")
    await rig.cycles(1)  # the server's broker still lists it for this cycle
    rig.broker.open_positions.pop(1)
    await rig.cycles(1)
    record = rig.strategy.records[1]
    assert (record.state, record.close_reason, record.realised_profit) == (
        DefensiveState.CLOSED, "take_profit", 25.0,
    )  # fmt: skip
    assert ("CLOSED", "HEALTHY") not in rig.transitions()
    await rig.stop()


def test_a_lost_hedge_of_a_magic_0_trade_is_found_by_the_brokers_magic(tmp_path: Path) -> None:
    fake = make_fake(now=T0, margin_mode=2, comment_rewrite="broker#1")
    broker = connect(fake, magic=777)
    ticket = fake.add_position("XAUUSD", 0, 0.5, 2000.3, magic=0)  # registered without one
    sent = broker.hedge(ticket, 0.25)
    hedge, trade = broker.position(sent.new_ticket or 0), broker.position(ticket)
    assert hedge is not None and trade is not None and hedge.magic == 777
    settings = load_settings({"state_dir": str(tmp_path / "state")})
    record = replace(
        register(trade, 10.0, trade.opened_at),
        state=DefensiveState.HEDGED,
        owed=(ActionKind.HEDGE,),
    )
    action = Action(
        ticket, ActionKind.HEDGE, {"volume": 0.25}, "hedge", record.key_for(ActionKind.HEDGE)
    )
    lost = ActionResult.failure(ResultCode.UNKNOWN_OUTCOME, "no answer")
    record = finish(begin(record, action, hedge.opened_at), action, lost, hedge.opened_at, settings)
    entry = record.entry(action.key)
    assert entry is not None
    positions = broker.positions()
    found = outcome_from_broker(record, entry, trade, positions, known={ticket}, magic=777)
    assert found == (True, hedge.ticket)
    strategy = LocalStrategy(settings)

    class Host:  # what _own_magic reads of a host: its broker
        pass

    host = Host()
    host.broker = broker  # type: ignore[attr-defined]
    assert strategy._own_magic(host) == 777  # type: ignore[arg-type]
