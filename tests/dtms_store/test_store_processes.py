"""Two real processes share one store directory: each sees the other's writes, and the
shared indexes (records, outbox) lose no update when both write at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from dtms_plugin.store import Store

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import UTC, datetime
    from dtms_plugin.store import Store

    directory, first, count, other_first = sys.argv[1], *map(int, sys.argv[2:5])
    mine = range(first, first + count)
    theirs = range(other_first, other_first + count)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(directory) as s:
        for t in mine:
            s.put_record(t, {"owner": first, "ticket": t})
            s.put_state(t, "HEDGED" if t % 2 else "HEALTHY", at)
            s.outbox_put(t, {"kind": "register", "ticket": t})
            s.append_action({"ticket": t, "by": first})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(s.get_state(t) is not None for t in theirs):
                break
            time.sleep(0.01)
        seen = {t: s.get_state(t)[0] for t in theirs if s.get_state(t) is not None}
        print(json.dumps({"seen": seen}))
    """
)


def _spawn(directory: Path, first: int, count: int, other_first: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(directory), str(first), str(count), str(other_first)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_two_processes_share_one_store(tmp_path: Path) -> None:
    directory = tmp_path / "dtms"
    count = 150
    a = _spawn(directory, 1, count, 1001)
    b = _spawn(directory, 1001, count, 1)
    out_a, err_a = a.communicate(timeout=60)
    out_b, err_b = b.communicate(timeout=60)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    seen_by_a = json.loads(out_a)["seen"]
    seen_by_b = json.loads(out_b)["seen"]
    assert len(seen_by_a) == count and len(seen_by_b) == count
    assert seen_by_a["1002"] == "HEALTHY" and seen_by_a["1001"] == "HEDGED"
    assert seen_by_b["2"] == "HEALTHY" and seen_by_b["1"] == "HEDGED"

    expected = set(range(1, 1 + count)) | set(range(1001, 1001 + count))
    with Store(directory) as s:
        records = s.records()
        assert set(records) == expected
        assert all(r["ticket"] == t for t, r in records.items())
        assert {t for t, _ in s.outbox_items()} == expected
        assert s.outbox_len() == 2 * count
        journal = s.actions(limit=10 * count)
        assert sorted(e["ticket"] for e in journal) == sorted(expected)
