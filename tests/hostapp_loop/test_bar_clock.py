"""The clock the host's coarser bars are built on: FX bars written in UTC, traded on D1,
make a stub of every Sunday evening, which the run's notes count; ``--bar-clock`` (or
``[host] bar_clock``) builds them on New York's close, as a broker's server does, and
the stubs are gone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import python, replay

from hookspecs import Bar, Timeframe
from hostapp.bar_clock import stub_note, stubs
from hostapp.market.synthetic import generate_bars
from hostapp.market.zones import parse_zone

#: eight winter weeks of H1 bars, Sunday 22:00 UTC to Friday 22:00 UTC (New York's
#: 17:00 in winter: the FX week)
BARS = generate_bars("EURUSD", datetime(2024, 1, 1, tzinfo=UTC), 24 * 5 * 8, timeframe="H1", seed=4)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("bar_clock")
    write_bars_csv(here / "EURUSD.csv", BARS)
    return here


def test_utc_days_have_a_sunday_stub_each_week_and_new_york_days_none() -> None:
    sundays = len({b.time.date() for b in BARS if b.time.weekday() == 6})
    short, total = stubs(BARS, Timeframe.D1, None)
    assert short == sundays - 1 and total > 5 * 7  # the first Sunday's bucket is cut off
    short, total = stubs(BARS, Timeframe.D1, parse_zone("America/New_York+7"))
    assert short == 0 and total >= 5 * 8 - 2


def _notes(folder: Path, *args: str) -> list[str]:
    proc = replay(folder, "EURUSD.csv", "--timeframe", "D1", "--json", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return list(json.loads(proc.stdout)["host_notes"])


def test_the_replay_counts_the_stubs_and_says_the_way_out(folder: Path) -> None:
    said = [n for n in _notes(folder, "--report", "utc") if "under half" in n]
    assert len(said) == 1
    assert said[0].startswith("D1 bars built from under half the H1 bars of a full one")
    short, total = stubs(BARS, Timeframe.D1, None)
    assert f"EURUSD {short} of {total};" in said[0]
    assert '--bar-clock (or [host] bar_clock) "America/New_York+7"' in said[0]


def test_on_new_york_close_there_are_none(folder: Path) -> None:
    notes = _notes(folder, "--bar-clock", "America/New_York+7", "--report", "ny")
    assert not any("under half" in n for n in notes)
    toml = 'bar_clock = "America/New_York+7"'
    (folder / "ny.toml").write_text(f'[host]\nsymbols = ["EURUSD"]\n{toml}\n')
    configured = _notes(folder, "--config", "ny.toml", "--report", "ny2")
    assert not any("under half" in n for n in configured)


def test_a_clock_it_cannot_read_is_one_line(folder: Path) -> None:
    proc = replay(folder, "EURUSD.csv", "--bar-clock", "Mars/Olympus", "--report", "bad")
    assert proc.returncode == 2 and "argument --bar-clock:" in proc.stderr.splitlines()[-1]
    (folder / "bad.toml").write_text('[host]\nbar_clock = "Mars/Olympus"\n')
    proc = replay(folder, "EURUSD.csv", "--config", "bad.toml", "--report", "bad")
    assert proc.returncode == 2
    assert "bad.toml [host]: key 'bar_clock'" in proc.stderr and "Traceback" not in proc.stderr


def test_a_run_over_configured_files_counts_them_too_and_names_its_key(folder: Path) -> None:
    """``hostapp run`` over a ``[host] data`` table trades the same bars as the replay:
    the same count, and the way out it has (no ``--bar-clock`` option)."""
    here = folder / "run"
    here.mkdir()
    data = '[host]\nsymbols = ["EURUSD"]\ntimeframe = "D1"\ndata = { EURUSD = "../EURUSD.csv" }\n'
    (here / "utc.toml").write_text(data)
    (here / "ny.toml").write_text(data + 'bar_clock = "America/New_York+7"\n')
    said = []
    for name in ("utc", "ny"):
        run = python(
            here, "-m", "hostapp.cli", "run", "--config", f"{name}.toml", "--no-compare",
            "--report", name,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        notes = json.loads((here / name / "summary.json").read_text())["host_notes"]
        said.append([n for n in notes if "under half" in n])
    short, total = stubs(BARS, Timeframe.D1, None)
    assert len(said[0]) == 1 and f"EURUSD {short} of {total};" in said[0][0]
    assert 'clock: [host] bar_clock "America/New_York+7" builds' in said[0][0]
    assert said[1] == []


#: the same weeks with each Wednesday a half day (no bars from 06:00 to 20:00 UTC): a
#: stub on every clock, New York's close too
HALF_DAYS = [b for b in BARS if not (b.time.weekday() == 2 and 6 <= b.time.hour < 20)]


@pytest.fixture(scope="module")
def half_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("half_days")
    write_bars_csv(here / "EURUSD.csv", HALF_DAYS)
    return here


def test_on_new_york_close_already_the_note_does_not_suggest_it(half_days: Path) -> None:
    """``--bar-clock America/New_York+7`` with stubs left: the note ended suggesting the
    very clock in use; it says so, and what else to check."""
    said = [
        n
        for n in _notes(half_days, "--bar-clock", "America/New_York+7", "--report", "ny")
        if "under half" in n
    ]
    short, total = stubs(HALF_DAYS, Timeframe.D1, parse_zone("America/New_York+7"))
    assert len(said) == 1 and f"EURUSD {short} of {total};" in said[0]
    assert '"America/New_York+7" builds' not in said[0]
    assert said[0].endswith(
        "They are built on America/New_York+7 already: if the file's times are not on the "
        "clock they are read on, --data-tz (or [host] data_tz) names the one they were "
        "written on; else they are the market's own short sessions (holidays, half days)"
    )


def test_a_clock_that_would_leave_stubs_too_is_not_offered_as_the_way_out(
    half_days: Path,
) -> None:
    (note,) = [n for n in _notes(half_days, "--report", "utc2") if "under half" in n]
    assert '"America/New_York+7" builds' not in note
    assert 'Building them on "America/New_York+7" with --bar-clock (or [host] bar_clock) ' in note
    assert "leaves stubs too: if the file's times" in note


def _m5(weeks: int, is_open: object) -> list[Bar]:
    """``weeks`` of M5 bars from Monday 2024-06-03 00:00 UTC, where ``is_open(t)``."""
    start = datetime(2024, 6, 3, tzinfo=UTC)
    times = (start + timedelta(minutes=5 * i) for i in range(weeks * 7 * 288))
    return [Bar(t, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0) for t in times if is_open(t)]  # type: ignore[operator]


def test_a_share_s_short_h4_bars_are_noted_though_most_of_its_bars_are_short() -> None:
    """A share open 14:30-21:00 UTC: each day's H4 bars hold 18, 48 and 12 M5 bars, two
    of three short. Measured against the median (18) none was short and no note came."""
    share = _m5(6, lambda t: t.weekday() < 5 and 870 <= t.hour * 60 + t.minute < 1260)
    short, total = stubs(share, Timeframe.H4, None)
    assert total == 6 * 5 * 3 - 2 and short == 2 * 6 * 5 - 2  # the first and last left out
    note = stub_note({"AAPL": share}, "M5", "H4", None)
    assert note is not None and note.startswith("H4 bars built from under half the M5 bars")
    assert f"AAPL {short} of {total};" in note
    # on a broker's server clock (UTC+3 in summer) the session fills two H4 bars
    assert note.endswith('"America/New_York+7" builds days that open at New York\'s close')


def test_fx_s_one_short_friday_h4_bar_a_week_is_no_note() -> None:
    """FX in summer, Sunday 21:00 to Friday 21:00 UTC: one H4 bar a week is short
    (Friday's 20:00 bar, an hour of it), one in thirty: too few to say."""

    def fx_open(t: datetime) -> bool:
        return not (
            t.weekday() == 5
            or (t.weekday() == 4 and t.hour >= 21)
            or (t.weekday() == 6 and t.hour < 21)
        )

    fx = _m5(6, fx_open)
    short, total = stubs(fx, Timeframe.H4, None)
    assert (short, total) == (6, 184)  # each Friday's, of six weeks
    assert stub_note({"EURUSD": fx}, "M5", "H4", None) is None
