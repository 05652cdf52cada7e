"""Calls that mean something else on Windows: ``os.kill`` with a signal other than a
console event terminates the process there (TerminateProcess), whatever its handlers."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from hostapp import parallel_worker


class _Queue:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, item: Any) -> None:
        self.items.append(item)


def test_a_stop_kept_for_the_next_run_reaches_its_handler_without_os_kill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's stop that came between runs is handed to the run at its first progress
    report: it was ``os.kill(own pid, signal)``, which on Windows ended the worker without
    a word (and broke the pool) instead of stopping the run after its cycle."""

    def terminate(pid: int, sig: int) -> None:
        raise AssertionError("os.kill: on Windows, TerminateProcess")

    seen: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    monkeypatch.setattr(parallel_worker.os, "kill", terminate)
    old = signal.signal(signal.SIGTERM, handler)
    worker: dict[str, Any] = {"stop": signal.SIGTERM, "log": _Flush(), "out": _Queue()}
    monkeypatch.setattr(parallel_worker, "_worker", worker)
    try:
        parallel_worker._Reporter(worker["out"], 1, "run")(1, 10)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert seen == [signal.SIGTERM]


class _Flush:
    def flush(self) -> None:
        pass


def test_on_windows_the_runs_stop_without_terminating_the_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C during ``--jobs N``: each worker got a SIGTERM, which on Windows
    terminated it mid-run (its run lost, the pool broken). There the console's Ctrl-C
    reaches the workers, and the stop flag keeps them from starting another run."""
    import threading
    import types

    from hostapp import parallel

    def terminate(pid: int, sig: int) -> None:
        raise AssertionError("os.kill: on Windows, TerminateProcess")

    monkeypatch.setattr(parallel.os, "kill", terminate)
    monkeypatch.setattr(parallel, "sys", types.SimpleNamespace(platform="win32", stderr=None))
    runs: parallel.Runs[Any] = parallel.Runs(lambda *a: None, {}, jobs=2)
    runs._pids = {101, 102}
    runs._stopped = threading.Event()
    runs._on_signal(signal.SIGINT, None)
    assert runs.interrupted and runs._stopped.is_set()
    runs._queue = _Queue()
    runs._queue.items.append(("pid", 103))  # a worker that says who it is after the stop
    monkeypatch.setattr(parallel, "_next", lambda q, wait=0.0: q.items.pop() if q.items else None)
    runs._drain_progress()
    assert runs._pids == {101, 102, 103}


def test_a_chart_is_never_named_for_a_windows_device() -> None:
    """``PRN`` (a ticker) made ``PRN.png``, which Windows opens as the printer."""
    from hostapp.report_files import chart_file_name

    assert chart_file_name("PRN") == "PRN_.png"
    assert chart_file_name("nul.x") == "nul_.x.png"
    assert chart_file_name("COM1") == "COM1_.png"
    assert chart_file_name("CONY") == "CONY.png"  # a name that only starts like one
    assert chart_file_name("XAUUSD") == "XAUUSD.png"


def test_a_store_folder_on_windows_is_not_tightened_at_every_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A Windows folder reads as mode 0777 whatever its ACL, and ``chmod(0o700)`` changes
    nothing there: every start of the store warned it was tightening the folder."""
    import logging
    import types

    from dtms_plugin.store import opening

    folder = tmp_path / "dtms"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # what os.stat says of any folder on Windows
    monkeypatch.setattr(opening, "sys", types.SimpleNamespace(platform="win32"))
    with caplog.at_level(logging.WARNING):
        opening.prepare_directory(folder, logging.getLogger("test"))
    assert caplog.records == []


def test_a_live_run_stops_cleanly_on_ctrl_break_where_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows' Ctrl-Break (SIGBREAK, also sent when the console window closes) ended a
    live run with no plugin shutdown and no report: only SIGINT and SIGTERM were handled.
    SIGUSR1 stands in for SIGBREAK, which Linux has not."""
    import importlib
    import os

    from hostapp import driving, stop_signals

    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    importlib.reload(stop_signals)
    monkeypatch.setattr(driving, "STOP_SIGNALS", stop_signals.STOP_SIGNALS)
    try:
        assert signal.SIGUSR1 in stop_signals.STOP_SIGNALS
        stopped: list[bool] = []
        with driving._StopOnSignal(lambda: stopped.append(True)):
            os.kill(os.getpid(), signal.SIGUSR1)
        assert stopped == [True]
    finally:
        monkeypatch.undo()
        importlib.reload(stop_signals)
    assert stop_signals.STOP_SIGNALS == (signal.SIGINT, signal.SIGTERM)


def test_a_report_file_open_in_a_spreadsheet_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows refuses to delete a file another program holds open (a trades.csv in
    Excel): clearing the last report raised PermissionError, a traceback. The refusal
    Windows gives is raised here by the one file's unlink."""
    from hookspecs import ConfigError
    from hostapp.report_files import clear_report
    from hostapp.trade_rows import TRADE_COLUMNS

    (tmp_path / "summary.json").write_text('{"mode": "replay"}', encoding="utf-8")
    held = tmp_path / "trades.csv"  # one an earlier run wrote (another's is kept aside)
    held.write_text(",".join(TRADE_COLUMNS) + "\n", encoding="utf-8")
    unlink = Path.unlink

    def refused(self: Path, missing_ok: bool = False) -> None:
        if self == held:
            raise PermissionError(13, "The process cannot access the file", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refused)
    with pytest.raises(ConfigError) as said:
        clear_report(tmp_path)
    assert "cannot remove trades.csv" in str(said.value) and "spreadsheet" in str(said.value)
    assert held.exists()


def test_a_corrupted_store_that_cannot_be_moved_aside_is_one_line_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows refuses to rename a folder while another process has one of its files open
    (a ``dtms export``, another engine): moving a corrupted store aside raised a raw
    PermissionError out of ``Store()``. The refusal Windows gives is raised by the one
    rename."""
    from dtms_plugin.store import Store, StoreError

    d = tmp_path / "dtms"
    d.mkdir(mode=0o700)
    garbage = b"this is not a database at all" * 100
    (d / "cache.db").write_bytes(garbage)
    rename = Path.rename

    def refused(self: Path, target: Any) -> Path:
        if self == d:
            raise PermissionError(13, "The process cannot access the file", str(self))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refused)
    with pytest.raises(StoreError) as said:
        Store(d)
    assert "corrupted and cannot be moved aside" in str(said.value) and str(d) in str(said.value)
    assert (d / "cache.db").read_bytes() == garbage  # nothing started empty over it
