"""``[plugin.exits] atr_timeframe`` against the data's bars, through the real command: a
timeframe the market cannot build is one line at start-up, exit 2, as atr_trailing's own
``timeframe`` is (one check for both: ``hookspecs.require_buildable``)."""

from __future__ import annotations

from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, replay


def test_an_atr_timeframe_the_data_cannot_give_is_refused_at_start_up(tmp_path: Path) -> None:
    """M1 from M5 bars: the run used to start, the ATR's bars failed every cycle, the
    breaker switched the exit manager off (no breakeven, trailing or partial close for
    the rest of the run) and the run still exited 0."""
    here = bars_folder(tmp_path, bars=300)
    with (here / "plugins.toml").open("a") as toml:
        toml.write('\n[plugin.exits]\natr_timeframe = "M1"\n')
    proc = replay(here, "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert (
        "[plugin.exits] atr_timeframe: M1 bars cannot be built from the market's M5 bars"
        in (lines[0])
    )


def test_an_atr_timeframe_the_data_can_build_runs(tmp_path: Path) -> None:
    here = bars_folder(tmp_path, bars=300)
    with (here / "plugins.toml").open("a") as toml:
        toml.write('\n[plugin.exits]\natr_timeframe = "M15"\n')
    proc = replay(here, "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
