"""A report file that cannot be written for a full disk leaves no file of its name: a
``trades.csv`` of 0 bytes was left beside the line saying it could not be written, and
read as a run without trades. Each is written beside its place (``<name>.tmp``), then
moved over it. The full disk is the kernel's own: the file beside it is ``/dev/full``,
where every write fails with ENOSPC."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from hostapp.live_paper import live_report
from hostapp.report_files import saved_csv, write_json

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def _full_beside(path: Path) -> None:
    """``path``'s file beside it is the full device."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_name(f"{path.name}.tmp").symlink_to("/dev/full")


def test_a_live_run_on_a_full_disk_leaves_no_empty_trades_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "rep"
    _full_beside(report / "trades.csv")
    summary = {"mode": "live", "recent_window": 100, "trades": 0}
    problems = live_report(report, summary, [])
    capsys.readouterr()
    assert problems == [f"cannot write {report / 'trades.csv'}: No space left on device"]
    assert not (report / "trades.csv").exists()
    assert not (report / "trades.csv.tmp").exists()  # nothing beside it either
    written = json.loads((report / "summary.json").read_text())
    assert written["trades_csv"] is None  # the summary says there is none


def test_a_failed_write_keeps_the_earlier_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    assert saved_csv(path, ["a", "b"], [{"a": 1, "b": 2}]) == []
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    _full_beside(path)
    assert saved_csv(path, ["a", "b"], [{"a": 3, "b": 4}]) == [
        f"cannot write {path}: No space left on device"
    ]
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    summary = tmp_path / "summary.json"
    _full_beside(summary)
    with pytest.raises(OSError) as caught:
        write_json(summary, {"x": 1})
    assert caught.value.errno == errno.ENOSPC
    assert not summary.exists() and not summary.with_name("summary.json.tmp").exists()


def test_an_ab_s_trades_csv_and_a_sweep_csv_are_written_whole(tmp_path: Path) -> None:
    """An A/B's ``trades.csv`` and a sweep's ``sweep.csv`` were written in place: a full
    disk left one cut short or empty, read as fewer trades or settings. They are written
    whole or not at all, as the other report files are."""
    from hostapp.sweep_table import write_csv
    from hostapp.trade_rows import TRADE_COLUMNS, write_trade_rows

    trades = tmp_path / "trades.csv"
    write_trade_rows(trades, [dict.fromkeys(TRADE_COLUMNS, 1)])
    before = trades.read_bytes()
    _full_beside(trades)
    with pytest.raises(OSError) as caught:
        write_trade_rows(trades, [dict.fromkeys(TRADE_COLUMNS, 2)])
    assert caught.value.errno == errno.ENOSPC
    assert trades.read_bytes() == before
    sweep = tmp_path / "sweep.csv"
    _full_beside(sweep)
    with pytest.raises(OSError):
        write_csv(sweep, ["dtms.x"], [], [], "tune")
    assert not sweep.exists()
