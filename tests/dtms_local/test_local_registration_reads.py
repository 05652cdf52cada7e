"""A server's registration batch reads the broker's positions to link a returning trade
to its open hedge (docs/dtms.md §8) only when it brings a ticket of no record: a client's
repeat of a registration (the common case) cost a terminal round trip each. A broker that
cannot answer there is said once per episode, not once per batch."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path / "dtms")
    await r.start()
    yield r
    await r.stop()


def _counting(rig: Rig) -> list[int]:
    calls: list[int] = []
    read = rig.broker.positions

    def positions() -> list:  # type: ignore[type-arg]
        calls.append(1)
        return read()

    rig.broker.positions = positions  # type: ignore[method-assign]
    return calls


async def test_a_repeated_registration_does_not_ask_the_broker(rig: Rig) -> None:
    mid = round(rig.broker.mids["XAUUSD"], 2)
    first = trade(ticket=21, entry=mid, sl=mid - 50.0, opened_at=rig.clock.now())
    calls = _counting(rig)
    await rig.strategy.register_many(rig.host, [first])
    assert len(calls) == 1  # a new ticket: its hedge, if one is open, is looked for
    await rig.strategy.register_many(rig.host, [first])
    await rig.strategy.register_many(rig.host, [first])
    assert len(calls) == 1 and 21 in rig.strategy.records


async def test_a_broker_that_cannot_answer_at_registrations_is_said_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    mid = round(rig.broker.mids["XAUUSD"], 2)
    rig.broker.query_error = True
    for ticket in (31, 32, 33):
        new = trade(ticket=ticket, entry=mid, sl=mid - 50.0, opened_at=rig.clock.now())
        await rig.strategy.register_many(rig.host, [new])
        assert ticket in rig.strategy.records  # registered all the same, HEALTHY
    said = [r for r in caplog.records if "positions at a registration" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    rig.broker.query_error = False
    new = trade(ticket=34, entry=mid, sl=mid - 50.0, opened_at=rig.clock.now())
    await rig.strategy.register_many(rig.host, [new])
    back = [r.getMessage() for r in caplog.records if "again, after" in r.getMessage()]
    assert back == ["DTMS: the broker gives its positions at a registration again, after 3 "
                    "failed registrations"]  # fmt: skip
