"""A CLOSED trade whose ticket is registered again for a new trade is archived, and is
still found: the trade's detail names it with its result, ``/dtms/status`` counts it,
``dtms export`` (a real subprocess over the server's store) writes it in its close window,
and retention removes it as it removes a record. It was in no view at all: its -5.5
result was left only in the ticket's action history. On a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of
from support.e2e_procs import dtms_export

Client = TestClient[web.Request, web.Application]

FIRST = {"opened_at": "2026-01-05T01:00:00Z", "entry": 2000.0}
SECOND = {"opened_at": "2026-01-05T03:00:00Z", "entry": 2010.0, "stop_loss": 2000.0}


async def _reused(client: Client) -> None:
    """Ticket 5001 opened, closed at -5.5, then handed out again for a new trade."""
    assert (await client.post("/dtms/trade/enable", json=registration(5001, **FIRST))).status == 201
    close = {"reason": "sl", "profit": -5.5, "closed_at": "2026-01-05T02:00:00Z"}
    assert (await client.post("/dtms/trade/5001/closed", json=close)).status == 200
    again = await client.post("/dtms/trade/enable", json=registration(5001, **SECOND))
    assert again.status == 201, await again.text()


async def test_an_archived_trade_is_named_by_its_ticket_and_counted(client: Client) -> None:
    await _reused(client)
    view = await (await client.get("/dtms/trade/5001")).json()
    assert view["state"] != "CLOSED" and view["trade_info"]["entry_price"] == 2010.0
    (old,) = view["archived"]
    assert (old["realised_profit"], old["close_reason"], old["entry_price"]) == (-5.5, "sl", 2000.0)
    assert old["opened_at"] == "2026-01-05T01:00:00+00:00"
    status = await (await client.get("/dtms/status")).json()
    assert (status["trades"], status["archived"]) == (1, 1)


async def test_dtms_export_writes_an_archived_trade_and_retention_removes_it(
    client: Client, tmp_path: Path
) -> None:
    await _reused(client)
    (tmp_path / "plugins.toml").write_text(f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n')
    done = dtms_export(tmp_path, "--since", "2026-01-05", "--until", "2026-01-06")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(x["ticket"], x["record"]["realised_profit"]) for x in lines] == [(5001, -5.5)]
    assert lines[0]["archived"] is True
    outside = dtms_export(tmp_path, "--since", "2026-01-06", "--until", "2026-02-01")
    assert outside.returncode == 0 and outside.stdout == "", outside.stdout

    store = service_of(client).store
    assert store.purge_closed(datetime(2026, 1, 5, 1, tzinfo=UTC)) == []
    assert len(store.archives()) == 1  # closed after the cut: kept
    assert store.purge_closed(datetime(2026, 3, 1, tzinfo=UTC)) == []  # the live one stays
    assert store.archives() == [] and store.get_record(5001) is not None
