"""A file whose bars come closer together than its spacing somewhere: H1 bars and then
M5 bars (two exports joined) were traded as H1 bars throughout, each M5 bar an hour, and
M1 bars with every other minute missing read as M2 bars with the rest left in (the
environment probe). Refused now, in one line naming the file and the first such bar, with
``--timeframe`` offered for bars of one finer timeframe. Daily bars that open an hour
earlier in UTC after a broker's clocks change stay daily bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import Bar

START = datetime(2024, 3, 4, tzinfo=UTC)


def _bars(times: list[datetime]) -> list[Bar]:
    return [Bar(t, 100.0 + i % 7, 101.0 + i % 7, 99.0 + i % 7, 100.5 + i % 7, 10.0)
            for i, t in enumerate(times)]  # fmt: skip


def test_h1_bars_then_m5_bars_are_refused(tmp_path: Path) -> None:
    hours = [START + timedelta(hours=i) for i in range(2100)]
    after = hours[-1] + timedelta(hours=1)
    fives = [after + timedelta(minutes=5 * i) for i in range(2000)]
    write_bars_csv(tmp_path / "XAUUSD.csv", _bars(hours + fives))
    line = one_error_line(hostapp(tmp_path, "replay", "XAUUSD.csv", "--report", "rep"))
    assert line.startswith("hostapp: XAUUSD.csv: 1999 bar(s) closer together than its H1 bars")
    assert f"the first at {fives[1].isoformat()} after {fives[0].isoformat()}" in line
    assert (
        "(two exports joined?), or, if they are all M5 bars, replay them with --timeframe M5"
        in line
    )
    # asking for H1 does not read the M5 bars as hours either
    line = one_error_line(
        hostapp(tmp_path, "replay", "XAUUSD.csv", "--timeframe", "H1", "--report", "rep")
    )
    assert "closer together than its H1 bars" in line


def test_m1_bars_with_holes_are_refused_as_m2_and_read_with_timeframe_m1(tmp_path: Path) -> None:
    minutes = [START + timedelta(minutes=m) for m in range(6000) if m % 2 == 0 or m % 7 == 0]
    write_bars_csv(tmp_path / "EURUSD.csv", _bars(minutes))
    line = one_error_line(hostapp(tmp_path, "replay", "EURUSD.csv", "--report", "rep"))
    assert "closer together than its M2 bars" in line and "with --timeframe M1" in line
    done = hostapp(tmp_path, "replay", "EURUSD.csv", "--timeframe", "M1", "--report", "rep")
    assert done.returncode == 0, done.stderr[-2000:]


def test_daily_bars_an_hour_off_after_a_clock_change_are_daily_bars(tmp_path: Path) -> None:
    """A New York-close broker's days open at 22:00 UTC in winter, 21:00 in summer: the
    gap across the change is 23 hours."""
    days = []
    for i in range(400):
        day = datetime(2023, 1, 2, tzinfo=UTC) + timedelta(days=i)
        if day.weekday() < 5:
            summer = datetime(2023, 3, 12, tzinfo=UTC) <= day < datetime(2023, 11, 5, tzinfo=UTC)
            days.append(day - timedelta(hours=3 if summer else 2))
    write_bars_csv(tmp_path / "US500.csv", _bars(days))
    done = hostapp(tmp_path, "replay", "US500.csv", "--json", "--report", "rep")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"timeframe": "D1"' in done.stdout


def test_m1_bars_a_few_seconds_off_are_m1_bars(tmp_path: Path) -> None:
    """Gaps of no timeframe's length (a bar stamped 59 s or 30 s after the one before) are
    a feed's quirks, not finer bars: read as before (the review)."""
    minutes = [START + timedelta(minutes=m) for m in range(3000)]
    minutes[100] -= timedelta(seconds=1)  # 59 s after the bar before
    minutes[200] -= timedelta(seconds=30)  # 30 s
    write_bars_csv(tmp_path / "EURUSD.csv", _bars(minutes))
    done = hostapp(tmp_path, "replay", "EURUSD.csv", "--json", "--report", "rep")
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_configured_file_is_refused_under_its_key(tmp_path: Path) -> None:
    """``hostapp run`` on ``[host] data``: the line names the file's setting."""
    hours = [START + timedelta(hours=i) for i in range(300)]
    fives = [hours[-1] + timedelta(minutes=5 * i) for i in range(1, 300)]
    write_bars_csv(tmp_path / "XAUUSD.csv", _bars(hours + fives))
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\ndata = { XAUUSD = "XAUUSD.csv" }\n'
    )
    line = one_error_line(hostapp(tmp_path, "run", "--report", "rep"))
    assert line.startswith("hostapp: ")
    assert "plugins.toml [host] key 'data': XAUUSD.csv: 299 bar(s) closer together" in line
