"""The local strategy's fast record encoding (``record_encoding.record_json``) is the same
JSON as the record's ``to_json`` plus ``updated_at`` and ``score``: every field, in the
same order, times in the same ISO form; a float JSON cannot carry is still refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest
from support.dtms_machine import record

from dtms_plugin.engine import JournalEntry, JournalStatus
from dtms_plugin.record_encoding import record_json
from dtms_plugin.store import Encoded, Store, StoreError
from hookspecs import ActionKind, DefensiveState

T0 = datetime(2026, 1, 5, 10, 30, 15, 123456, tzinfo=UTC)


def _rich():
    entry = JournalEntry(
        key="7:2:hedge",
        kind=ActionKind.HEDGE,
        params=MappingProxyType({"volume": 0.5, "comment": 'say "hi" ü'}),
        status=JournalStatus.DONE,
        attempts=2,
        code="ok",
        message="done\n",
        at=T0.astimezone(timezone(timedelta(hours=2))),
        new_ticket=99,
    )
    return record(
        DefensiveState.HEDGED,
        ticket=7,
        seq=2,
        hedge_ticket=99,
        hedge_volume=0.5,
        owed=(ActionKind.CLOSE,),
        warnings=("w1", "w2"),
        journal=(entry,),
        last_score=-3.25,
        last_bar_time=T0,
        closed_at=None,
        comment="zone Z",
    )


@pytest.mark.parametrize("score", [None, {"total": 4.5, "parts": {"rsi": 1.0}}])
def test_fast_form_equals_to_json(score: dict | None) -> None:
    rec = _rich()
    text = record_json(rec, T0, score)
    assert isinstance(text, Encoded)
    expected = rec.to_json()
    expected["updated_at"] = T0.isoformat()
    if score is not None:
        expected["score"] = score
    decoded = json.loads(text)
    assert decoded == expected
    assert list(decoded) == list(expected)  # same field order


def test_round_trip_through_the_store(tmp_path: Path) -> None:
    rec = _rich()
    with Store(tmp_path / "dtms") as store:
        store.put_records({7: record_json(rec, T0)})
        stored = store.get_record(7)
    assert stored is not None
    assert type(rec).from_json(stored) == rec


def test_a_nan_record_is_refused_not_written_as_null(tmp_path: Path) -> None:
    rec = record(ticket=8, last_score=float("nan"))
    with Store(tmp_path / "dtms") as store:
        store.put_record(8, {"a": 1})
        with pytest.raises(StoreError):
            store.put_records({8: record_json(rec, T0)})
        assert store.get_record(8) == {"a": 1}
