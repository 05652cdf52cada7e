"""deals.csv written and named in the summary by one helper, for a run's report and an
A/B's alike: named when written, null (and said why) when it could not be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hostapp.deal_rows import DEAL_COLUMNS, save_deals_csv

ROW = {column: "" for column in DEAL_COLUMNS} | {"ticket": 7, "profit": -1.5}


def test_written_and_named(tmp_path: Path) -> None:
    summary: dict[str, Any] = {}
    assert save_deals_csv(tmp_path, [ROW], summary) == []
    assert summary == {"deals_csv": "deals.csv"}
    lines = (tmp_path / "deals.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(DEAL_COLUMNS) and len(lines) == 2


def test_unwritten_is_null_and_said(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").mkdir()  # a folder in its place
    summary: dict[str, Any] = {"deals_csv": "deals.csv"}
    lost = save_deals_csv(tmp_path, [ROW], summary)
    assert summary["deals_csv"] is None
    assert len(lost) == 1 and lost[0].startswith(f"cannot write {tmp_path / 'deals.csv'}")
