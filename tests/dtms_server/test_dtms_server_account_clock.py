"""On a paper account, ``dtms serve``'s clock is the account file's data clock (here
January 2024), years behind the wall clock a client's script dates things by.

A close dated by the wall clock put a loss on a day the daily-loss rail never reached
(accepted: it was judged against the wall clock); a registration's wall-clock opening
was kept over the broker's own for its position, and every close the host then reported
at the account's time was refused as "before the trade opened", its loss lost. Now a
time is judged against the account's clock, the refusal names that clock, and the
broker's opening of a position it lists wins (docs/client.md).

A real ``dtms serve`` on a real paper account file in ``tmp_path``, which this test
writes as the trading host's broker does; the public client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.e2e_procs import TOKEN, Server, dtms_server, free_port, toml_config

from dtms_plugin.client import DtmsClient, DtmsError
from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 3  # the account's clock: T0 + 15 minutes
ACCOUNT_CLOCK = "the account's clock (paper, its data's time)"


@dataclass
class Rig:
    account: Path
    server: Server
    dtms: DtmsClient

    def host(self) -> PaperBroker:
        """The trading host's connection to the account file."""
        return PaperBroker(settings=PaperSettings(account_file=str(self.account)))


def _feed(broker: PaperBroker, start: datetime, closes: list[float]) -> datetime:
    """M5 bars into the account file, as the trading host's broker writes them; the
    account's clock they leave (the last one's close)."""
    for bar in bars_from_closes(closes, start=start):
        broker.on_bar("XAUUSD", bar)
    return start + timedelta(minutes=5 * len(closes))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    account = tmp_path / "account.db"
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        _feed(writer, T0, [2000.0 + i for i in range(BARS)])
    finally:
        writer.release()
    config = toml_config(
        tmp_path / "server.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / "state", plugins={"dtms.rails": {"daily_loss_pct": 50}},
    )  # fmt: skip
    log = tmp_path / "server.log"
    with (
        dtms_server(config, free_port(), monitor_seconds=3600.0, log=log) as server,
        DtmsClient(server.url, token=TOKEN) as dtms,
    ):
        yield Rig(account, server, dtms)


def _trade(ticket: int, **fields: object) -> dict[str, object]:
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
            "volume": 1.0, **fields}  # fmt: skip


def test_a_wall_clock_close_is_refused_and_the_accounts_close_trips_the_rail(rig: Rig) -> None:
    """The probe: ``daily_loss_pct = 50`` on 10,000, a loss of 15,000 dated by the wall
    clock was kept on a day the rail never reached (``defensive: false``): 60 % of the
    day's starting balance (10,000 now, less the day's result)."""
    clock = T0 + timedelta(minutes=5 * BARS)
    assert rig.dtms.register(_trade(882001)).ok
    with pytest.raises(DtmsError) as refused:
        rig.dtms.report_closed(882001, "sl", -15000.0, closed_at=datetime.now(UTC))
    assert refused.value.status == 409
    message = str(refused.value)
    assert f"more than a day ahead of {ACCOUNT_CLOCK} ({clock.isoformat()})" in message
    # the way out, for a client dating by its wall clock a server no host drives
    assert message.endswith(
        "; leave closed_at out and the server dates it by the account's clock"
    ), message
    assert rig.dtms.status()["account_mode"]["defensive"] is False
    assert (rig.dtms.state(882001) or {}).get("state") != "CLOSED"

    # a host under --speed a little ahead of the server reading its file: within a day
    soon = clock + timedelta(hours=2)
    rig.dtms.report_closed(882001, "sl", -15000.0, closed_at=soon)
    mode = rig.dtms.status()["account_mode"]
    assert mode["defensive"] is True, mode


def test_a_wall_clock_opening_of_a_position_the_broker_lacks_is_refused(rig: Rig) -> None:
    result = rig.dtms.register(_trade(882003, opened_at=datetime.now(UTC)))
    assert (result.outcome, result.status) == ("refused", 409), result
    assert ACCOUNT_CLOCK in result.message and "opened_at" in str(result.body)
    assert "leave opened_at out and the server dates it by the account's clock" in (result.message)
    assert rig.dtms.state(882003) is None


def test_the_brokers_opening_wins_and_the_hosts_close_keeps_its_loss(rig: Rig) -> None:
    """The probe: a script registered the host's position with its wall-clock opening
    (2026); the host's stop-out at the account's time was refused as before the trade
    opened, and its loss reached neither the history nor the rails."""
    host = rig.host()
    try:
        opened = host.open(OrderRequest("XAUUSD", "sell", 1.0))
        assert opened.ok and opened.new_ticket is not None
        ticket = opened.new_ticket
        pos = host.position(ticket)
        assert pos is not None and pos.opened_at < T0 + timedelta(days=1)
        sent = _trade(ticket, direction="sell", entry=pos.entry_price,
                      opened_at=datetime.now(UTC))  # fmt: skip
        result = rig.dtms.register(sent)
        assert result.outcome == "registered", result
        kept = (rig.dtms.state(ticket) or {}).get("trade_info", {})
        assert datetime.fromisoformat(kept["opened_at"]) == pos.opened_at, kept
        log = rig.server.log.read_text()
        assert f"opened_at {datetime.fromisoformat(str(sent['opened_at'])).isoformat()}" in log
        assert f"→ {pos.opened_at.isoformat()}, from the broker's position" in log

        at = _feed(host, T0 + timedelta(minutes=5 * BARS), [2010.0, 2020.0])
        assert host.close(ticket).ok
        closed = host.closed_trade(ticket)
        assert closed is not None and closed.closed_at is not None and closed.profit < 0
        assert closed.closed_at <= at
    finally:
        host.release()
    rig.dtms.report_closed(ticket, "sl", closed.profit, closed_at=closed.closed_at)
    record = (rig.dtms.state(ticket) or {}).get("trade_info", {})
    assert (record["state"], record["realised_profit"]) == ("CLOSED", closed.profit), record
