"""What a registration may carry, against a real server: a volume above the symbol's
maximum at the broker is a 400 naming ``volume`` (1e12 lots was kept as a trade no order
of which the broker would take), unless the broker lists a position of the ticket, whose
volume is the truth; a comment with a control character is a 400 naming ``comment`` (a
NUL was kept, and cuts the comment short in any C string)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, open_position, registration

Client = TestClient[web.Request, web.Application]


async def _enable(client: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/dtms/trade/enable", json=body)
    return resp.status, await resp.json()


@pytest.mark.parametrize("volume", [100.5, 1e12, "1000", "100.01"])
async def test_a_volume_above_the_brokers_maximum_is_400_naming_volume(
    client: Client, volume: Any
) -> None:
    status, answer = await _enable(client, registration(7, volume=volume))
    assert (status, answer["field"]) == (400, "volume"), answer
    assert "maximum volume of XAUUSD at the broker (100)" in answer["message"], answer
    assert (await client.get("/dtms/trade/7")).status == 404


async def test_the_maximum_itself_is_taken(client: Client) -> None:
    status, answer = await _enable(client, registration(7, volume=100))
    assert status == 201, answer


async def test_a_position_of_the_ticket_is_taken_whatever_the_volume_sent(
    client: Client, world: World
) -> None:
    """The broker's position is the truth (its volume replaces the one sent), and may
    pass one order's maximum on a netting account: no 400 for it."""
    ticket = open_position(world)
    body = registration(ticket, entry=world.price("XAUUSD"), volume=150)
    status, answer = await _enable(client, body)
    assert status == 201, answer


@pytest.mark.parametrize("comment", ["\x00", "a\nb", "tab\there", "\x1b[31m", "\x7f", "\x9b"])
async def test_a_comment_with_a_control_character_is_400_naming_comment(
    client: Client, comment: str
) -> None:
    status, answer = await _enable(client, registration(7, comment=comment))
    assert (status, answer["field"]) == (400, "comment"), answer
    assert (await client.get("/dtms/trade/7")).status == 404


async def test_a_comment_of_text_is_taken(client: Client) -> None:
    status, answer = await _enable(client, registration(7, comment="grid #2 é ✓ 🚀"))
    assert status == 201, answer


async def test_a_volume_above_the_maximum_is_503_while_the_broker_cannot_list_positions(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the maximum is refused only when the broker lists no position of the ticket:
    while it cannot say (a terminal gone), the answer is a 503 to retry, not a 400, which
    a client takes as final (the remote strategy drops it from its outbox), leaving a
    real netting position above one order's maximum undefended."""
    from hookspecs import BrokerError

    ticket = open_position(world)

    def gone() -> list[object]:
        raise BrokerError("terminal disconnected")

    monkeypatch.setattr(world.broker, "positions", gone)
    body = registration(ticket, entry=world.price("XAUUSD"), volume=150)
    status, answer = await _enable(client, body)
    assert status == 503, answer
    assert "terminal disconnected" in answer["message"]
    monkeypatch.undo()
    status, answer = await _enable(client, body)  # the retry, once it can say
    assert status == 201, answer
