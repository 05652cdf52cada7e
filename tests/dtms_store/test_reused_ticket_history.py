"""A ticket the broker handed out again (a fresh paper account's tickets start at 1
again): its history holds both trades' entries, and each trade's export line and
dashboard row show only its own (dtms_plugin/store/archives.py ``of_trade``). A new
trade's export line showed the earlier trade's actions as its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dtms_plugin.export import archived_line, trade_line
from dtms_plugin.server.dashboard import _own_history
from dtms_plugin.store import Store

OLD, NEW = "2026-01-05T01:00:00+00:00", "2026-01-09T03:00:00+00:00"


def _entry(key: str, at: str, opened_at: str | None) -> dict[str, Any]:
    entry = {"ticket": 1, "type": "action", "kind": "tighten_sl", "key": key, "at": at}
    return entry if opened_at is None else {**entry, "opened_at": opened_at}


def test_each_trade_of_a_reused_ticket_shows_only_its_own_history(tmp_path: Path) -> None:
    with Store(tmp_path / "dtms") as store:
        old = {"ticket": 1, "opened_at": OLD, "closed_at": "2026-01-05T04:00:00+00:00",
               "state": "CLOSED"}  # fmt: skip
        store.put_record(1, old)
        store.append_actions([
            _entry("1:0:a", "2026-01-05T02:00:00+00:00", OLD),
            _entry("1:0:b", "2026-01-05T03:00:00+00:00", OLD),
        ])  # fmt: skip
        store.archive_record(1)
        new = {"ticket": 1, "opened_at": NEW, "state": "HEALTHY"}
        store.put_record(1, new)
        store.append_actions([
            _entry("1:0:c", "2026-01-09T04:00:00+00:00", NEW),
            _entry("1:0:d", "2026-01-09T05:00:00+00:00", NEW),
        ])  # fmt: skip
        (archived,) = store.archived(1)

        def keys(line: dict[str, Any]) -> list[str]:
            return [a["key"] for a in line["actions"]]

        assert keys(trade_line(store, 1, new)) == ["1:0:c", "1:0:d"]
        assert keys(archived_line(store, 1, archived)) == ["1:0:a", "1:0:b"]
        fresh = {"ticket": 1, "opened_at": "2026-01-10T00:00:00+00:00", "state": "HEALTHY"}
        assert _own_history(store, 1, fresh) == (None, None)  # nothing of its own yet
        assert _own_history(store, 1, new)[1]["key"] == "1:0:d"


def test_an_entry_naming_no_trade_is_kept_and_an_archived_trade_takes_it_by_date(
    tmp_path: Path,
) -> None:
    """An older writer's entry names no opening: kept for the trade the ticket holds now
    (nothing says it is another's), and for an archived one only within its life."""
    with Store(tmp_path / "dtms") as store:
        old = {"ticket": 1, "opened_at": OLD, "closed_at": "2026-01-05T04:00:00+00:00",
               "state": "CLOSED"}  # fmt: skip
        store.put_record(1, old)
        store.append_actions([_entry("1:0:u", "2026-01-05T03:00:00+00:00", None)])
        store.archive_record(1)
        (archived,) = store.archived(1)
        new = {"ticket": 1, "opened_at": NEW, "state": "HEALTHY"}
        store.put_record(1, new)
        assert [a["key"] for a in archived_line(store, 1, archived)["actions"]] == ["1:0:u"]
        assert [a["key"] for a in trade_line(store, 1, new)["actions"]] == ["1:0:u"]
        late = {**archived, "opened_at": "2026-01-05T03:30:00+00:00"}
        assert archived_line(store, 1, late)["actions"] == []  # dated before its opening
