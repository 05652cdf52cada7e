"""The trade record's own rules (dtms_plugin/engine/record.py), each pinned: how much of
its warnings and journal it keeps, what a stored record without its newer fields reads
as, which closed record is still being closed, and that ``evolve`` takes every field and
only fields. The account rails read its realised parts (test_engine_rails_parts.py)."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from support.dtms_kit import T0, trade

from dtms_plugin.engine import TradeRecord, register
from dtms_plugin.engine import record as record_module
from dtms_plugin.engine.record import JournalEntry, JournalStatus, risk_from_stop
from hookspecs import ActionKind, DefensiveState


def rec() -> TradeRecord:
    return register(trade(1), None, T0)


def test_a_record_keeps_its_newest_twenty_warnings() -> None:
    r = rec()
    for i in range(25):
        r = r.evolve(warnings=r.with_warning(f"w{i}"))
    assert r.warnings == tuple(f"w{i}" for i in range(5, 25))


def test_a_journal_keeps_sixty_entries() -> None:
    """The journal's bound (journal.py keeps the newest MAX_JOURNAL entries)."""
    assert record_module.MAX_JOURNAL == 60


def test_a_journal_entry_stored_without_its_waits_has_none() -> None:
    entry = JournalEntry(
        "1:0:hedge", ActionKind.HEDGE, {"volume": 0.5}, JournalStatus.DONE, 1, "ok", "", T0
    )
    data = entry.to_json()
    del data["waits"]
    assert JournalEntry.from_json(data).waits == 0


def test_a_record_stored_before_its_newer_fields_reads_them_as_none_yet() -> None:
    data = rec().to_json()
    for name in ("hedge_volume", "closed_volume", "hedge_profit", "magic", "re_added_closed"):
        del data[name]
    back = TradeRecord.from_json(data)
    assert (back.hedge_volume, back.closed_volume, back.hedge_profit, back.magic) == (
        0.0,
        0.0,
        0.0,
        0,
    )
    assert back.re_added_closed == 0.0
    done = JournalEntry(
        "1:0:re_add", ActionKind.RE_ADD, {"volume": 0.5}, JournalStatus.DONE, 1, "ok", "", T0
    )
    data["journal"] = [done.to_json()]  # a re-add done, and no closed volume kept
    assert TradeRecord.from_json(data).re_added_closed == 0.0


def test_the_volume_closed_since_a_re_add_is_rounded_to_eight_decimals() -> None:
    r = replace(rec(), closed_volume=0.123456789, re_added_closed=0.0)
    assert r.closed_since_re_add == 0.12345679


@pytest.mark.parametrize(
    ("state", "owed", "closing"),
    [
        (DefensiveState.CLOSED, (ActionKind.CLOSE,), True),
        (DefensiveState.CLOSED, (), False),
        (DefensiveState.CLOSED, (ActionKind.CLOSE_HEDGE,), False),
        (DefensiveState.WARNING_L2, (ActionKind.CLOSE,), False),
    ],
)
def test_a_trade_is_closing_while_its_close_is_owed(
    state: DefensiveState, owed: tuple[ActionKind, ...], closing: bool
) -> None:
    assert replace(rec(), state=state, owed=owed).closing is closing


def test_evolve_takes_every_field_and_refuses_others() -> None:
    r = rec()
    every = {f.name: getattr(r, f.name) for f in fields(TradeRecord)}
    assert r.evolve(**every) == r
    with pytest.raises(TypeError, match="no field"):
        r.evolve(nonsense=1)


def test_a_stop_at_the_entry_says_no_risk() -> None:
    assert risk_from_stop("buy", 2000.0, 2000.0) == 0.0
    assert risk_from_stop("sell", 2000.0, 1990.0) == 0.0
    assert risk_from_stop("buy", 2000.0, 1990.0) == 10.0
