"""The broker reads of a cycle (its positions, its account) fail and recover each on its
own: a failure is said once per episode, with its count when it ends, and names what
failed; a positions read that worked is used whatever the account read did."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.broker_double import BrokerDouble
from support.dtms_local_rig import Rig

from hookspecs import AccountInfo, BrokerError, DefensiveState

FAILED = "account_info() failed: last_error=(-1, 'Terminal: Call failed')"


@dataclass
class AccountFails(BrokerDouble):
    """``account()`` fails the next ``account_failures`` times; positions still answer."""

    account_failures: int = 0

    def account(self) -> AccountInfo:
        if self.account_failures:
            self.account_failures -= 1
            raise BrokerError(FAILED)
        return super().account()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "dtms_plugin.local"
    ]


async def test_an_account_that_cannot_be_read_is_said_once_and_gone_checks_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(tmp_path / "dtms")
    r.broker = AccountFails(r.broker.infos, r.clock, hedging=True)
    r.host.broker = r.broker
    r._mid()
    await r.start()
    for ticket in (1, 2):
        await r.open_buy(ticket=ticket, volume=0.1)
    await r.cycles(1)
    caplog.set_level(logging.DEBUG, logger="dtms_plugin.local")
    assert isinstance(r.broker, AccountFails)
    r.broker.account_failures = 10
    del r.broker.open_positions[2]  # closed by hand while the account cannot be read
    await r.cycles(1)
    assert r.strategy.records[2].state is DefensiveState.CLOSED  # the positions read
    assert r.strategy.records[1].is_open
    await r.cycles(11)
    assert _warnings(caplog) == [
        f"DTMS: the broker cannot give its account ({FAILED}); trades are evaluated with "
        "the margin mode last read (said again when it does)",
        "DTMS: the broker gives its account again, after 10 failed cycles",
    ]
    assert r.strategy.records[1].last_bar_time is not None  # evaluated all along
    await r.stop()


async def test_positions_that_cannot_be_read_are_said_once_per_episode(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.open_buy(ticket=1, volume=0.1)
    caplog.set_level(logging.WARNING, logger="dtms_plugin.local")
    for _ in range(2):  # two episodes of 3 failed cycles each
        rig.broker.query_error = True
        await rig.cycles(3)
        rig.broker.query_error = False
        await rig.cycles(1)
    said = _warnings(caplog)
    down = [m for m in said if "cannot give its positions" in m]
    back = [m for m in said if "gives its positions again" in m]
    assert (
        down
        == [
            "DTMS: the broker cannot give its positions (positions_get returned None); no trade "
            "is checked for a position gone (said again when it does)"
        ]
        * 2
    )
    assert back == ["DTMS: the broker gives its positions again, after 3 failed cycles"] * 2
    assert rig.strategy.records[1].is_open  # an error is never "no positions"


async def test_a_start_up_recovery_the_broker_cannot_answer_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The recovery is retried every cycle while the broker cannot give its positions:
    it logged "DTMS recovery postponed" at ERROR on every one of them. Once, now, and
    its end with the count; then the recovery runs and the trade is managed."""
    first = Rig(tmp_path / "dtms")
    await first.start()
    await first.open_buy(ticket=1, volume=0.1)
    await first.cycles(1)
    broker = first.broker
    broker.query_error = True  # the terminal down as the host restarts
    caplog.set_level(logging.DEBUG, logger="dtms_plugin.local")
    strategy = await first.restart()
    await first.cycles(4)
    broker.query_error = False
    await first.cycles(1)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert said == [
        ("ERROR", "DTMS: the broker cannot give its positions and account for the start-up "
                  "recovery (positions_get returned None); the recovery, and every trade, waits "
                  "for the next cycle: none is defended (said again when it does)"),
        ("WARNING", "DTMS: the broker gives its positions and account for the start-up "
                    "recovery again, after 5 failed cycles"),
    ]  # fmt: skip
    assert strategy.records[1].is_open and strategy.store.get_state(1) is not None
    await first.stop()


async def test_a_symbol_without_rules_is_said_once_per_episode_with_its_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A symbol the broker stopped knowing (taken out of ``[host] symbols``): its trades
    wait, one ERROR when that begins and one WARNING with the count when the rules are
    back, not an ERROR every cycle (238 in 60 s of a ``--speed 120`` run)."""
    r = Rig(tmp_path / "dtms")
    r._mid()
    await r.start()
    await r.open_buy(ticket=1, volume=0.1)
    await r.cycles(1)
    caplog.set_level(logging.DEBUG, logger="dtms_plugin.local")
    (symbol,) = r.broker.infos
    info = r.broker.infos.pop(symbol)
    r.strategy._infos.clear()  # as a fresh start on the resumed account would find it
    await r.cycles(5)
    assert r.strategy.waiting == {symbol: f"no symbol rules for {symbol}"}
    r.broker.infos[symbol] = info
    await r.cycles(1)
    assert _warnings(caplog) == [
        f"DTMS: no symbol rules for {symbol}; its trades wait (said again when they are back)",
        f"DTMS: the symbol rules for {symbol} are back, after 5 cycles without them",
    ]
    assert r.strategy.waiting == {}
    await r.stop()
