"""The pieces a remote host rebuilds the server's events from (docs/dtms.md §9): the
history entry of an action holds the whole ``Action`` and ``ActionResult`` (a remote host
rebuilds exactly what the server's plugins heard), an entry of an earlier server still
reads, and the batch's ``history_mark`` moves whenever the history may have grown."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dtms_plugin import remote_events
from dtms_plugin.book import TradeBook
from dtms_plugin.engine import JournalEntry, JournalStatus, register
from dtms_plugin.local_writes import PendingWrites
from dtms_plugin.remote_events import action_of, entry_digest
from dtms_plugin.server import views
from dtms_plugin.server.views import batch_entry
from dtms_plugin.store import Store
from hookspecs import Action, ActionKind, ActionResult, ResultCode, Trade

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRADE = Trade(7, "XAUUSD", "buy", 1.0, 2000.0, 1990.0, 2020.0, T0 - timedelta(hours=1))


def _written(tmp_path: Path, fill: Any) -> list[dict[str, Any]]:
    """The history entries the local strategy's writes leave in a real store."""
    book = TradeBook()
    book.put(register(TRADE, None, T0))
    writes = PendingWrites(book, logging.getLogger("test"))
    fill(writes)
    store = Store(str(tmp_path / "dtms"))
    try:
        assert writes.flush(store) == set()
        return store.actions(7, limit=10)
    finally:
        store.close()


def test_an_action_entry_gives_back_the_action_and_result_heard(tmp_path: Path) -> None:
    action = Action(7, ActionKind.HEDGE, {"volume": 0.5}, "S=-6.5 [...]", "7:3:hedge", "dtms")
    result = ActionResult(True, ResultCode.OK, "filled", 8, filled_volume=0.4, netting=None)
    refused = Action(7, ActionKind.PARTIAL_CLOSE, {"volume": 0.5}, "S=-4.1", "7:2:partial_close")
    frozen = ActionResult.failure(ResultCode.FROZEN, "10029 inside the freeze level")
    entries = _written(
        tmp_path, lambda w: (w.action(action, result, T0), w.action(refused, frozen, T0))
    )
    assert [action_of(e) for e in entries] == [(action, result), (refused, frozen)]
    assert entries[0]["opened_at"] == TRADE.opened_at.isoformat()  # which trade of the ticket


def test_a_settled_entry_reads_as_the_engine_s(tmp_path: Path) -> None:
    entry = JournalEntry("7:3:hedge", ActionKind.HEDGE, {"volume": 0.5}, JournalStatus.DONE, 1,
                         "ok", "settled from the broker", T0, new_ticket=9)  # fmt: skip
    (written,) = _written(tmp_path, lambda w: w.settled(7, entry, T0))
    action, result = action_of(written)
    assert (action.kind, action.key, action.source, action.params) == (
        ActionKind.HEDGE, "7:3:hedge", "dtms", {"volume": 0.5}
    )  # fmt: skip
    assert action.reason == "settled from the broker's positions"
    assert (result.ok, result.code, result.new_ticket) == (True, ResultCode.OK, 9)


def test_an_earlier_servers_entry_still_reads() -> None:
    """Written before entries kept the source, the fill and the netting effect."""
    old = {"type": "action", "ticket": 7, "key": "7:1:tighten_sl", "kind": "tighten_sl",
           "params": {"stop_loss": 1995.0}, "reason": "S=-2.5", "ok": True, "code": "ok",
           "message": "", "new_ticket": None, "at": T0.isoformat()}  # fmt: skip
    action, result = action_of(old)
    assert action == Action(7, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "S=-2.5",
                            "7:1:tighten_sl", "dtms")  # fmt: skip
    assert result == ActionResult(True, ResultCode.OK, "")
    later = action_of(old | {"ok": False, "code": "margin_call", "message": "no"})[1]
    assert (later.ok, later.code, later.message) == (False, ResultCode.REJECTED, "margin_call: no")


@pytest.mark.parametrize(
    "change", [{"kind": "teleport"}, {"key": ""}, {"ticket": "7"}, {"ok": None}]
)
def test_an_entry_that_is_no_action_is_refused(change: dict[str, Any]) -> None:
    entry = {"ticket": 7, "key": "7:1:close", "kind": "close", "ok": True, "code": "ok"}
    with pytest.raises(ValueError):
        action_of(entry | change)


def test_an_entrys_digest_is_its_content() -> None:
    entry = {"ticket": 7, "type": "state_change", "from": "HEALTHY", "to": "WARNING_L1"}
    assert entry_digest(dict(reversed(entry.items()))) == entry_digest(entry)
    assert entry_digest(entry | {"to": "WARNING_L2"}) != entry_digest(entry)


def test_the_history_mark_moves_with_each_change_the_history_gets() -> None:
    record = register(TRADE, None, T0)
    marks = []

    def mark(rec: Any) -> str:
        return str(batch_entry(7, rec.to_json(), account_defensive=False)["history_mark"])

    marks.append(mark(record))
    # nothing in its history: the mark a client starts from, which it need not read
    assert marks[0] == views.EMPTY_HISTORY == remote_events.EMPTY_HISTORY
    assert mark(record.evolve(last_score=-1.5, last_eval_at=T0)) == marks[0]  # scored: none
    record = record.evolve(state="WARNING_L1", seq=1)  # a state entered
    marks.append(mark(record))
    pending = JournalEntry("7:1:tighten_sl", ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0},
                           JournalStatus.PENDING, 1, "", "", T0)  # fmt: skip
    record = record.evolve(journal=(pending,))
    marks.append(mark(record))
    failed = replace(pending, status=JournalStatus.FAILED, code="frozen")  # answered
    record = record.evolve(journal=(failed,))
    marks.append(mark(record))
    again = replace(failed, at=T0 + timedelta(minutes=5), waits=1)  # refused again later
    record = record.evolve(journal=(again,))
    marks.append(mark(record))
    done = replace(again, status=JournalStatus.DONE, code="ok")
    trail = replace(done, key="7:1:trail@1772442000", at=T0 + timedelta(minutes=10))
    record = record.evolve(journal=(done, trail))  # another action after it
    marks.append(mark(record))
    assert len(set(marks)) == len(marks), marks
