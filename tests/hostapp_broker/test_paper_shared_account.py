"""A paper account in a SQLite file, shared by real processes like one MT5 terminal."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.paper import PaperBroker, PaperSettings

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from datetime import UTC, datetime
import pytest

from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings

path, role = sys.argv[1], sys.argv[2]
b = PaperBroker(settings=PaperSettings(account_file=path))
t = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
out = {}
if role == "open":
    b.set_quote("XAUUSD", 2000.0, 2000.3, t)
    out["ticket"] = b.open(OrderRequest("XAUUSD", "buy", 0.1, comment="from A")).new_ticket
elif role == "close":
    out["seen"] = [[p.ticket, p.comment, p.entry_price] for p in b.positions()]
    b.set_quote("XAUUSD", 2001.3, 2001.6, t)
    r = b.close(out["seen"][0][0])
    out["closed"] = [r.ok, r.message]
elif role == "many":
    for _ in range(int(sys.argv[3])):
        r = b.open(OrderRequest("XAUUSD", "buy", 0.01))
        out.setdefault("tickets", []).append(r.new_ticket)
print(json.dumps(out))
"""


def run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def test_one_process_opens_the_other_sees_and_closes(tmp_path: Path) -> None:
    path = str(tmp_path / "account.sqlite")
    opened = result(run(path, "open"))
    assert opened == {"ticket": 1}
    closed = result(run(path, "close"))
    assert closed["seen"] == [[1, "from A", 2000.3]]
    assert closed["closed"] == [True, "closed 0.1 of 1 at 2001.3, profit 10.00"]
    # and this process, a third one, sees the result in the file
    b = PaperBroker(settings=PaperSettings(account_file=path))
    assert b.positions() == []
    assert b.account().balance == 10_010.0 and b.realised_pnl() == 10.0
    (deal,) = b.history()
    assert (deal.trade.ticket, deal.trade.profit, deal.reason) == (1, 10.0, "action")
    assert b.close(1).code is ResultCode.NOT_FOUND
    b.release()


def test_tickets_are_unique_across_concurrent_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "account.sqlite")
    first = PaperBroker(settings=PaperSettings(account_file=path))
    first.set_quote("XAUUSD", 2000.0, 2000.3, datetime(2024, 1, 2, tzinfo=UTC))
    procs = [run(path, "many", "40") for _ in range(3)]
    tickets: list[int] = []
    for proc in procs:
        got = result(proc)["tickets"]
        assert isinstance(got, list)
        tickets.extend(got)
    assert sorted(tickets) == list(range(1, 121))
    assert len(first.positions()) == 120
    t = first.open(OrderRequest("XAUUSD", "sell", 0.01)).new_ticket
    assert t == 121
    first.release()


def test_file_settings_win_and_a_mismatch_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "account.sqlite")
    a = PaperBroker(settings=PaperSettings(balance=5000.0, account_file=path))
    b = PaperBroker(settings=PaperSettings(balance=99.0, account_file=path))
    assert b.account().balance == 5000.0  # the account's, not this config's
    assert a.account().login == b.account().login
    with pytest.raises(ValueError, match="margin_mode is 'hedging', the settings say 'netting'"):
        PaperBroker(settings=PaperSettings(margin_mode="netting", account_file=path))
    a.release()
    b.release()


def test_a_position_another_process_stopped_out_is_reported_as_stopped_out(
    tmp_path: Path,
) -> None:
    """Two programs on one account: a position the other program's broker closed at its
    stop is found gone by this host's sweep after the plugins' step; the broker's deal
    says why (hookspecs.CloseReasons), and that reason is what plugins are told, since
    DTMS's stop-out streak and the servers' records read it. The one the other program
    closed by an order during that step is ``external``: none of this host's plugins
    acted in it."""
    import asyncio

    from hookspecs import hookimpl
    from hostapp.app import build_sim_app
    from hostapp.config import config_from_dict
    from hostapp.testing import bars_from_closes

    account = tmp_path / "account.sqlite"
    other = PaperBroker(settings=PaperSettings(account_file=str(account)))
    t = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    other.set_quote("EURUSD", 1.1, 1.1001, t)
    mine = other.open(OrderRequest("EURUSD", "buy", 0.1, stop_loss=1.09)).new_ticket
    ordered = other.open(OrderRequest("EURUSD", "buy", 0.1)).new_ticket

    class OtherProgram:
        """Plays the other program's moves during this host's cycles."""

        def __init__(self) -> None:
            self.cycles = 0
            self.closed: dict[int, str] = {}

        @hookimpl
        def on_cycle(self) -> None:
            self.cycles += 1
            if self.cycles == 2:  # its bar falls through the stop
                (bar,) = bars_from_closes([1.085], start=t)
                assert [tr.ticket for tr, _ in other.on_bar("EURUSD", bar)] == [mine]
            elif self.cycles == 3:  # its market open: a bar of this step (docs/architecture.md)
                (bar,) = bars_from_closes([1.086], start=t + timedelta(minutes=10))
                assert other.on_bar("EURUSD", bar) == []
                assert other.close(ordered).ok

        @hookimpl
        def on_trade_closed(self, trade: object, reason: str) -> None:
            self.closed[trade.ticket] = reason  # type: ignore[attr-defined]

    program = OtherProgram()
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"], "paper": {"account_file": str(account)}}},
        path=tmp_path / "plugins.toml",
    )
    app = build_sim_app(
        config,
        {"XAUUSD": bars_from_closes([2000.0] * 6, start=t)},
        base_timeframe="M5",
        shared_account=True,
        builtins={"other": program},
        entry_points=[],
        env={},
    )
    asyncio.run(app.loop.run_replay(app.feed))
    assert program.closed == {mine: "stop_loss", ordered: "external"}
