"""A switch of ``[plugin.dtms] store`` from the state folder to Redis between two live
hosts on one paper account file, a trade open that DTMS had partially closed: the real
``hostapp run --live`` on the Redis store takes the trade up from the account's ledger
(one WARNING), and goes on down the ladder from where the folder's store left it: a
hedge, no second partial close (docs/scaling.md, "Switching the store"). Before, it
adopted the trade afresh and closed 0.02 more of its 0.05 lots on the way down again.

The first host is the engine in this process on the same account file (the ladder's first
steps take a few hundred bars of the rig's market, tests/support/hedged_paper.py); the
second is a real process on a real redis-server, playing the rest of the same bars from
a CSV file at a high ``--speed``."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from support.e2e_procs import command, toml_config, wait_for, write_csv
from support.hedged_paper import PaperMarket, local_strategy, open_buy
from support.redis_server import RedisServer

from hookspecs import DefensiveState, Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import make_host


def _account(path: Path) -> tuple[list[Trade], list[Trade]]:
    """The account file's open positions and closing deals, as a third process reads them."""
    broker = PaperBroker(settings=PaperSettings(account_file=str(path)))
    try:
        return broker.positions(), broker.closed_trades()
    finally:
        broker.release()


async def _partially_closed(tmp_path: Path) -> tuple[PaperMarket, Trade]:
    """The first host: a buy of 0.1 walked to WARNING_L2 on the folder's store (0.05
    closed), then stopped."""
    market = PaperMarket(tmp_path / "account.db")
    broker = market.broker()
    strategy = local_strategy(tmp_path / "dtms")
    host = make_host(broker, market, market, mode="live")
    await strategy.startup(host)
    buy = open_buy(broker)
    await strategy.on_trade_executed(host, buy)
    for _ in range(60):
        await strategy.on_cycle(host, market.step(broker))
        if strategy.records[buy.ticket].state is DefensiveState.WARNING_L2:
            break
    assert strategy.records[buy.ticket].state is DefensiveState.WARNING_L2
    await strategy.shutdown(host)
    broker.release()
    return market, buy


async def test_a_live_host_switched_to_redis_does_not_partially_close_again(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    market, buy = await _partially_closed(tmp_path)
    account = tmp_path / "account.db"
    config = toml_config(
        tmp_path / "redis.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / "dtms", data={"XAUUSD": write_csv(tmp_path / "x.csv", market.fast)},
        dtms={"store": redis_server.url(), "trail.enabled": False},  # the rig's ladder alone
        host={"timeframe": "M5", "cycle_seconds": 300},
    )  # fmt: skip
    out = tmp_path / "host.out"
    argv = [*command("hostapp"), "run", "--live", "--config", str(config),
            "--report", str(tmp_path / "report"), "--speed", "600"]  # fmt: skip
    hedge = f"DTMS_HEDGE_{buy.ticket}"
    with out.open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        hedged = lambda: any(p.comment == hedge for p in _account(account)[0])  # noqa: E731
        wait_for(lambda: proc.poll() is not None or hedged(), timeout=180, what="the hedge")
        assert proc.poll() is None, out.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    positions, deals = _account(account)
    trade = next(p for p in positions if p.ticket == buy.ticket)
    assert trade.volume == 0.05  # before: 0.03, a second partial close of 0.02
    assert [d.volume for d in deals if d.ticket == buy.ticket] == [0.05]
    said = (tmp_path / "report" / "hostapp.log").read_text()
    [line] = [s for s in said.splitlines() if "taken up from the account's ledger" in s]
    assert (
        "WARNING" in line and f"as the store in {(tmp_path / 'dtms').resolve()} left them" in line
    )
    assert f"{buy.ticket} WARNING_L2 (done: tighten_sl, partial_close; volume 0.1 → 0.05)" in line
    assert "adopted" not in said.replace("not adopted afresh", "")
