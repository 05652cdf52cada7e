"""``states(tickets)`` answers each trade's short entry of the batch (what one request
for 200 tickets can carry), and docs/client.md says exactly those keys: it promised
``trade_info``, which only ``state(ticket)`` (``GET /dtms/trade/{ticket}``) carries. On a
real server."""

from __future__ import annotations

import re
from pathlib import Path

from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient

from .conftest import Served

DOC = Path(__file__).parents[2] / "docs" / "client.md"


def _documented_states_keys() -> set[str]:
    """The keys the docs' row of ``states`` names for its entries (the parenthesis
    after ``GET /dtms/trades?tickets=``)."""
    row = next(line for line in DOC.read_text().splitlines() if "`states(tickets)`" in line)
    part = row.split("`states`:", 1)[1]
    inside = part[part.index("(") + 1 : part.index(";")]
    return set(re.findall(r"`(\w+)`", inside))


async def test_states_answers_the_shape_the_docs_name(served: Served) -> None:
    async with AsyncDtmsClient(served.url) as dtms:
        assert (await dtms.register(registration(4101))).ok
        states = await dtms.states([4101, 4102])
        one = await dtms.state(4101)
    assert list(states) == [4101]  # the unknown left out
    keys = set(states[4101])
    assert keys == {"ticket", "state", "defensive", "score", "updated_at", "history_mark"}
    assert keys == _documented_states_keys()
    assert one is not None and "trade_info" in one and "trade_info" not in keys
