"""A report that cannot be written whole loses none of the run's results: a full disk
under ``hostapp run --report`` once ended in a traceback from the chart's PNG, a 0-byte
chart and no ``summary.json``. Now the summary is written before the charts, a chart
that cannot be written is one line naming it and why (exit code 1, no traceback), and
the table is printed either way. A full disk is ``/dev/full`` here (a chart's name
linked to it) and a folder in a chart's place, so no test needs root or a small disk."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.live_paper import live_report
from hostapp.market.synthetic import generate_bars

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="needs Linux's /dev/full")


def _lines(stderr: str) -> list[str]:
    """stderr without the progress lines."""
    return [ln for ln in stderr.splitlines() if not ln.startswith(("run:", "replay", "A/B:"))]


def test_a_chart_on_a_full_disk_is_one_line_after_the_summary(tmp_path: Path) -> None:
    report = tmp_path / "r"
    report.mkdir()
    (report / "XAUUSD.png").symlink_to(FULL)  # writing it: No space left on device
    proc = hostapp(tmp_path, "run", "--days", "2", "--no-compare", "--report", "r")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _lines(proc.stderr) == [
        "hostapp: cannot write the chart r/XAUUSD.png: No space left on device"
    ]
    assert "trades opened" in proc.stdout  # the table, printed all the same
    summary = json.loads((report / "summary.json").read_text())
    assert summary["charts"] == ["EURUSD.png"]  # the other symbol's chart is drawn
    assert (report / "EURUSD.png").stat().st_size > 0


LIVE_CONFIG = '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "a.sqlite"\n'


def test_a_summary_on_a_full_disk_is_one_line_after_the_table(tmp_path: Path) -> None:
    """A run's summary on a full disk is one line after the table, no traceback."""
    (tmp_path / "plugins.toml").write_text(LIVE_CONFIG)
    report = tmp_path / "r"
    report.mkdir()
    (report / "summary.json.tmp").symlink_to(FULL)  # written first, then moved into place
    proc = hostapp(tmp_path, "run", "--days", "1", "--report", "r")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _lines(proc.stderr) == ["hostapp: cannot write r/summary.json: No space left on device"]
    assert "trades opened" in proc.stdout
    assert not (report / "summary.json").exists()
    assert not (report / "summary.json.tmp").exists()  # what was begun of it goes
    assert ("compare" in os.listdir(report)) is False  # no A/B where the summary failed


def test_a_live_summary_on_a_full_disk_comes_after_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live run's summary was written before its table was printed: a full disk after
    days of trading ended in a traceback, and the table was never shown. A live run
    writes its report as it starts and while it goes, each write whole (a ``/dev/full``
    link in the summary's place is met, and removed, by the first), so the final
    report's order is checked on a real live run's summary, written again to a full disk."""
    (tmp_path / "plugins.toml").write_text(LIVE_CONFIG)
    argv = ("run", "--live", "--speed", "100000", "--days", "1", "--report", "r")
    proc = hostapp(tmp_path, *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    full = tmp_path / "full"
    full.mkdir()
    (full / "summary.json.tmp").symlink_to(FULL)
    problems = live_report(full, summary, [])
    assert "trades opened" in capsys.readouterr().out
    assert problems == [f"cannot write {full / 'summary.json'}: No space left on device"]
    assert not (full / "summary.json").exists()
    assert not (full / "summary.json.tmp").exists()  # what was begun of it goes


def test_a_folder_in_a_charts_place_keeps_the_replays_summary(tmp_path: Path) -> None:
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 600, seed=5)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    (tmp_path / "r" / "XAUUSD.png").mkdir(parents=True)
    proc = hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _lines(proc.stderr) == ["hostapp: cannot write the chart r/XAUUSD.png: Is a directory"]
    assert "trades opened" in proc.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["charts"] == [] and summary["bars"] == 600


_CUT_OFF = """
import resource, signal, sys
from pathlib import Path
from hostapp.chart_canvas import ChartError, new_figure, save_figure

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
fig, (ax,) = new_figure([1.0])
ax.plot(range(1000), [i % 7 for i in range(1000)])
try:
    save_figure(fig, Path(sys.argv[1]))
except ChartError as exc:
    print(exc)
"""


def test_a_chart_cut_off_while_written_is_removed(tmp_path: Path) -> None:
    """A disk that fills while the PNG is written left a 0-byte (or cut-off) chart for a
    reader to take for one: what was begun of it goes."""
    chart = tmp_path / "XAUUSD.png"
    proc = subprocess.run(
        [sys.executable, "-c", _CUT_OFF, str(chart)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cannot write the chart {chart}: File too large"
    assert not chart.exists()


def test_a_log_on_a_full_disk_says_so_once_then_drops_its_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """logging's own handler printed a traceback for every record it could not write."""
    from hostapp.logs import ReportLog

    handler = ReportLog(str(FULL), clock=lambda: 0.0)
    log = logging.getLogger("test_report_unwritable")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(5):
            log.warning("record %d", i)
    finally:
        log.removeHandler(handler)
        handler.close()  # what it holds unwritten is dropped without a word more
    err = capsys.readouterr().err
    assert err == (
        f"hostapp: cannot write the log {os.fspath(FULL)}: No space left on device; its "
        "records are counted and dropped, and writing is tried again every 60 s\n"
    )
    assert handler.stopped and handler.lost == 5


def test_a_log_written_again_after_a_full_disk_says_what_it_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk for a while in a live run that lasts weeks cost it every record after:
    the first failure stopped the log for good. Now it tries again at the first record a
    minute after the last failure, and says how many records it lost and since when."""
    from hostapp.logs import ReportLog

    path = tmp_path / "hostapp.log"
    path.symlink_to(FULL)  # the disk is full
    now = [0.0]
    handler = ReportLog(str(path), clock=lambda: now[0])
    log = logging.getLogger("test_report_unwritable.resumed")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("lost 1")
        log.warning("lost 2")
        now[0] = 59.0
        log.warning("lost 3")  # within the minute: not tried
        path.unlink()
        path.mkdir()  # still unwritable when it tries again: the same episode, no new line
        now[0] = 120.0
        log.warning("lost 4")
        now[0] = 150.0
        log.warning("lost 5")  # within the minute of the last try
        path.rmdir()  # room again: the next try writes
        now[0] = 181.0
        log.warning("written %d", 1)
        log.warning("written %d", 2)
    finally:
        log.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err.count("cannot write the log") == 1, err
    # the end said where the start was read: stderr, the run's terminal
    assert f"hostapp: {path}: log resumed: 5 records not written since 20" in err, err
    assert err.index("cannot write the log") < err.index("log resumed")
    assert not handler.stopped and handler.lost == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 3, lines
    assert "log resumed: 5 records not written since 20" in lines[0]
    assert lines[1].endswith("written 1") and lines[2].endswith("written 2")


def test_an_ab_chart_that_cannot_be_written_keeps_its_table_and_summary(tmp_path: Path) -> None:
    """``replay --compare``: a chart that could not be written ended the command before
    the comparison's table was printed and before its summary.json was written."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 1500, seed=5)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    (tmp_path / "r" / "equity.png").mkdir(parents=True)
    proc = hostapp(tmp_path, "replay", "--compare", "--report", "r", "XAUUSD.csv")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _lines(proc.stderr) == ["hostapp: cannot write the chart r/equity.png: Is a directory"]
    assert "max drawdown" in proc.stdout  # the comparison's table
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["charts"] == ["XAUUSD.png", "r_histogram.png"]
    assert summary["trades_csv"] == "trades.csv" and (tmp_path / "r" / "trades.csv").is_file()


def test_the_ab_of_a_run_on_a_full_disk_is_one_line_after_both_tables(tmp_path: Path) -> None:
    report = tmp_path / "r"
    (report / "compare").mkdir(parents=True)
    (report / "compare" / "r_histogram.png").symlink_to(FULL)
    proc = hostapp(tmp_path, "run", "--days", "2", "--report", "r")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _lines(proc.stderr) == [
        "hostapp: the A/B in r/compare is incomplete: cannot write the chart"
        " r/compare/r_histogram.png: No space left on device"
    ]
    assert "trades opened" in proc.stdout and "max drawdown" in proc.stdout
    compared = json.loads((report / "compare" / "summary.json").read_text())
    assert "r_histogram.png" not in compared["charts"] and "equity.png" in compared["charts"]
    assert json.loads((report / "summary.json").read_text())["compare"] == "compare/summary.json"


def test_the_log_of_the_command_before_is_kept_beside(tmp_path: Path) -> None:
    """A live host restarted after a crash wrote its new log over the one saying why."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 300, seed=5)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    logs = []
    for _ in range(3):
        proc = hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv")
        assert proc.returncode == 0, proc.stderr[-2000:]
        logs.append((tmp_path / "r" / "hostapp.log").read_text())
        (tmp_path / "r" / "hostapp.log").write_text(f"run {len(logs)}\n", encoding="utf-8")
    assert (tmp_path / "r" / "hostapp.log.1").read_text() == "run 2\n"  # the one before only
    assert "XAUUSD" in logs[-1] and not (tmp_path / "r" / "hostapp.log.2").exists()


def test_a_live_run_keeps_the_five_runs_before_its_logs_and_summaries(tmp_path: Path) -> None:
    """A live host restarted (a service restarting it after each crash) removed the run
    before's summary, its only report, and kept one log: after two restarts the log that
    said why it first stopped was gone. A replay in the same folder removes a live
    run's kept files no more than its own."""
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = "acct.sqlite"\n'
        '[plugin.dtms]\nstate_dir = "dtms"\n'
    )
    live = tmp_path / "r"
    for n in range(7):
        (tmp_path / "acct.sqlite").unlink(missing_ok=True)  # a fresh account each time
        proc = hostapp(tmp_path, "run", "--live", "--speed", "1000000", "--days", "4",
                       "--report", "r")  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        (live / "hostapp.log").write_text(f"run {n}\n", encoding="utf-8")
        summary = json.loads((live / "summary.json").read_text())
        (live / "summary.json").write_text(json.dumps({**summary, "run": n}), encoding="utf-8")
    for back in range(1, 6):  # .1 the run before the last: run 5
        assert (live / f"hostapp.log.{back}").read_text() == f"run {6 - back}\n"
        assert json.loads((live / f"summary.json.{back}").read_text())["run"] == 6 - back
    assert not (live / "hostapp.log.6").exists() and not (live / "summary.json.6").exists()
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 300, seed=5)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    proc = hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((live / "summary.json.1").read_text())["run"] == 5
    assert (live / "hostapp.log.1").read_text() == "run 6\n"  # a replay keeps one log
    assert "recent_window" not in json.loads((live / "summary.json").read_text())


def test_a_run_names_its_ab_summary_only_when_it_was_written(tmp_path: Path) -> None:
    report = tmp_path / "r"
    (report / "compare").mkdir(parents=True)
    (report / "compare" / "summary.json.tmp").symlink_to(FULL)
    proc = hostapp(tmp_path, "run", "--days", "2", "--report", "r")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert _lines(proc.stderr) == [
        "hostapp: the A/B in r/compare is incomplete: cannot write r/compare/summary.json: "
        "No space left on device"
    ]
    assert "max drawdown" in proc.stdout  # the A/B's table, printed all the same
    assert not (report / "compare" / "summary.json").exists()
    assert "compare" not in json.loads((report / "summary.json").read_text())
