"""The terminal logged in to another account mid-run (by hand, or a reconnect with
``login = 0`` that came back on the account the terminal remembers): the run stops at
once, names both accounts, does nothing on the other one, and its summary takes none of
that account's figures (docs/mt5.md, "Another account mid-run")."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hostapp_mt5.mt5_helpers import live_app
from support.fake_mt5 import FakeMT5

from hookspecs import Action, ActionKind, OrderRequest, ResultCode, hookimpl
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.driving import drive, run_summary
from hostapp.errors import EXIT_ACCOUNT_CHANGED, AccountChanged
from hostapp.report import summary_table

TESTS = Path(__file__).resolve().parents[1]


def _switch(fake: FakeMT5) -> int:
    """The probe's scenario (account90): account 8888, balance 500, one position of our
    magic (1 lot sold) and none of the old account's."""
    fake.login_id, fake.balance = 8888, 500.0
    fake.positions.clear()
    return fake.add_position("XAUUSD", 1, 1.0, 2000.0, sl=2100.0, magic=777, comment="hostapp")


def test_a_cycle_that_finds_another_account_stops_it_and_sends_nothing(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    broker.watch_connection()  # the same account: nothing to say
    assert broker.identity == "Fake-Demo 5001"
    theirs = _switch(fake)
    with pytest.raises(AccountChanged) as raised:
        broker.watch_connection()
    assert (raised.value.started, raised.value.now) == ("Fake-Demo 5001", "Fake-Demo 8888")
    sent = len(fake.requests)
    refused = [broker.open(OrderRequest("XAUUSD", "buy", 0.1)), broker.close(theirs)]
    assert all(r.code is ResultCode.TRADING_DISABLED for r in refused)
    assert "not sent: the terminal is on account Fake-Demo 8888, not Fake-Demo 5001" in (
        refused[0].message
    )
    assert len(fake.requests) == sent and theirs in fake.positions


def test_the_same_login_on_a_renamed_server_is_the_same_account_said_once(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker's trade server renamed or moved (the same login): the run goes on, as
    DTMS's store and lock take it, in one WARNING; a terminal not logged in (login 0) is
    asked again, not taken for another account."""
    broker.watch_connection()
    fake.server_name = "Fake-Demo2"
    with caplog.at_level(logging.WARNING):
        broker.watch_connection()
        broker.watch_connection()
    renamed = [r.getMessage() for r in caplog.records if "named" in r.getMessage()]
    assert renamed == [
        "MT5: the terminal's account Fake-Demo 5001 is now named Fake-Demo2 5001 (the same "
        "login on a server of another name): taken as the same account"
    ]
    fake.login_id = 0
    broker.watch_connection()
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).code is not ResultCode.TRADING_DISABLED


def test_a_switch_mid_cycle_sends_nothing_though_no_check_saw_it_yet(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """Between the cycle's check and a plugin's order: the order asks first."""
    broker.watch_connection()
    theirs = _switch(fake)
    refused = broker.close(theirs)
    assert refused.code is ResultCode.TRADING_DISABLED and not fake.requests
    assert refused.message.endswith(
        "not sent: the terminal is on account Fake-Demo 8888, not Fake-Demo 5001"
    )
    with pytest.raises(AccountChanged):
        broker.watch_connection()  # and the next cycle stops the run


def test_a_reconnect_that_comes_back_on_another_account_says_so(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """``login = 0``: the reconnect keeps whatever account the restarted terminal is on."""
    fake.shutdown()  # the terminal restarted ...
    _switch(fake)  # ... on the account it remembered
    with pytest.raises(AccountChanged, match=r"now on account Fake-Demo 8888, not on Fake-Demo"):
        broker.reconnect()
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).code is ResultCode.TRADING_DISABLED


class SwitchesAccount:
    """Counts cycles; the terminal goes over to account 8888 at the end of cycle 2 (as
    between two cycles)."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.cycles = 0
        self.managed: list[list[int]] = []
        self.stop: Any = None

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 6:
            self.stop()  # the old code ran on, on the other account

    @hookimpl
    def manage_positions(self, host: Any) -> None:
        self.managed.append([t.ticket for t in host.broker.positions()])
        if self.cycles == 2:
            _switch(self.fake)  # the cycle's last step


async def test_a_live_run_on_an_account_switched_under_it_stops_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5()
    ours = fake.add_position("XAUUSD", 0, 0.3, 2000.0, sl=1990.0, magic=777, comment="hostapp")
    plugin = SwitchesAccount(fake)
    app = live_app(fake, {"watcher": plugin}, magic=777)
    plugin.stop = app.loop.request_stop
    with caplog.at_level(logging.INFO):
        stats = await drive(app, progress=None)
    assert plugin.cycles == 2 and plugin.managed == [[ours], [ours]]  # no plugin saw account 8888
    assert not fake.requests
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "the MetaTrader 5 terminal is now on account Fake-Demo 8888, not on Fake-Demo 5001, "
        "the account this run started on: trading stopped, nothing was done on Fake-Demo "
        "8888; to trade Fake-Demo 8888, start the host again on it (a fresh start-up, with "
        "its own recovery of the positions open there)"
    ]
    assert stats.account_changed == errors[0]
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["pnl"] is None and summary["end_balance"] is None  # not 500 - 10,000
    assert summary["positions_open_at_end"] is None and summary["open_at_end"] is None
    assert summary["closes_by_reason"] == {}  # ours not reported closed (external)
    assert not [n for n in summary["host_notes"] if "left the broker's list" in n]
    (note,) = [n for n in summary["host_notes"] if n.startswith("the run stopped: ")]
    assert "now on account Fake-Demo 8888" in note and "read unknown" in note
    rows = {" ".join(line.split()) for line in summary_table(summary).splitlines()}
    assert {"P&L (realised) unknown", "positions open at the end unknown"} <= rows


class SwitchesMidCycle(SwitchesAccount):
    """The switch comes during cycle 2's plugin step, before the loop looks for closes;
    the plugin then closes the position it sees, the other account's."""

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        self.cycles += 1
        if self.cycles == 2:
            theirs = _switch(self.fake)
            assert not (await host.execute(Action(theirs, ActionKind.CLOSE, key="c"))).ok
        if self.cycles == 6:
            self.stop()

    @hookimpl
    def manage_positions(self) -> None:
        pass


async def test_a_switch_mid_cycle_stops_the_run_at_the_next_cycle_and_sends_nothing() -> None:
    fake = FakeMT5()
    fake.add_position("XAUUSD", 0, 0.3, 2000.0, sl=1990.0, magic=777, comment="hostapp")
    plugin = SwitchesMidCycle(fake)
    app = live_app(fake, {"watcher": plugin}, magic=777)
    plugin.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    assert plugin.cycles == 2 and not fake.requests and stats.account_changed
    summary = run_summary(app, stats, {"mode": "live"})
    # ours left the list with the account, not closed: not said as a close unconfirmed
    assert not [n for n in summary["host_notes"] if "left the broker's list" in n]
    assert summary["closes_by_reason"] == {}


async def test_a_summary_after_a_switch_the_loop_never_saw_reads_nothing_of_it() -> None:
    """The switch came after the last cycle: the summary's own reads check the account."""
    fake = FakeMT5()
    plugin = SwitchesAccount(fake)
    app = live_app(fake, {"watcher": plugin}, magic=777)
    plugin.stop = app.loop.request_stop
    plugin.cycles = 10  # never switches, stops at once
    app.loop.request_stop()
    stats = await drive(app, progress=None)
    _switch(fake)
    summary = run_summary(app, stats, {"mode": "live"})
    assert summary["pnl"] is None and summary["positions_open_at_end"] is None
    assert stats.account_changed.startswith("the MetaTrader 5 terminal is now on account")


#: A MetaTrader5 package whose terminal goes over to account 8888 at its 6th
#: ``account_info()`` (start-up reads it, then each cycle)
SWITCHING = """
from hostapp_mt5.mt5_helpers import rates_row
from support.fake_mt5 import FakeMT5, FakeSymbol


class Switching(FakeMT5):
    def account_info(self):
        self.asked = getattr(self, "asked", 0) + 1
        if self.asked == 6:
            self.login_id, self.balance = 8888, 500.0
        return super().account_info()


FAKE = Switching()
FAKE.add_symbol(FakeSymbol("XAUUSD", bid=2005.0, ask=2005.3, digits=2))
FAKE.rates[("XAUUSD", 5)] = [rates_row(i) for i in range(7)]


def __getattr__(name):
    return getattr(FAKE, name)
"""


def test_hostapp_run_live_exits_4_with_the_reason_in_its_summary(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "MetaTrader5.py").write_text(SWITCHING)
    (tmp_path / "plugins.toml").write_text(
        '[host]\nbroker = "mt5"\nsymbols = ["XAUUSD"]\ncycle_seconds = 0.05\n\n'
        '[host.mt5]\nmodule = "MetaTrader5"\nserver_utc_offset_minutes = 120\n\n'
        "[plugins]\nenabled = []\n"
    )
    path = os.pathsep.join([str(tmp_path / "site"), str(TESTS), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--report", "report"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path, "XDG_STATE_HOME": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EXIT_ACCOUNT_CHANGED == 4, proc.stderr
    assert "now on account Fake-Demo 8888, not on Fake-Demo 5001" in proc.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["pnl"] is None and summary["end_balance"] is None
    assert any(n.startswith("the run stopped: ") for n in summary["host_notes"])
    assert re.search(r"^P&L \(realised\) +unknown$", proc.stdout, re.M), proc.stdout
