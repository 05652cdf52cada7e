"""A setting that becomes a span of time added to a date has an upper bound (docs/dtms.md
§10): ``retention_days = 1e6`` (meaning "keep forever") passed every check, then the engine
failed every cycle with an OverflowError (date value out of range) in its retention, while
``hostapp plugins`` said the plugin was enabled. Now it is one line naming file, table and
key, exit 2; and the largest value each range allows still makes a date, on every
timeframe."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.ports import free_port

from dtms_plugin.server.settings import ServerSettings
from dtms_plugin.settings import DtmsSettings, load_settings
from dtms_plugin.settings_ranges import MAX_BARS, MAX_FRESH_SECONDS, MAX_RETENTION_DAYS, MAX_SECONDS
from hookspecs import ConfigError, Timeframe

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("retention_days", 1e6, "must be in (0, 36500], got 1000000.0"),
        ("retention_days", 0, "must be in (0, 36500], got 0.0"),
        ("fresh_seconds", 1e12, "must be in [0, 86400], got 1000000000000.0"),
        ("fresh_seconds", -1, "must be in [0, 86400], got -1.0"),
    ],
)
def test_a_span_outside_its_range_is_one_line_naming_the_key(
    key: str, value: float, said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({key: value, "last_known_seconds": 1e13})
    assert str(caught.value) == f"[plugin.dtms]: {key}: {said}"


#: every duration in seconds of [plugin.dtms]: at most a day, as the host's are
DURATIONS = ["monitor_seconds", "lease_seconds", "register_timeout_seconds",
             "query_timeout_seconds"]  # fmt: skip


@pytest.mark.parametrize("key", DURATIONS)
@pytest.mark.parametrize("value", [1e300, 1e9, 86_400.5])
def test_a_duration_longer_than_a_day_is_one_line_naming_the_key(key: str, value: float) -> None:
    """``monitor_seconds = 1e300`` passed "> 0": dtms serve idled without a word, and a
    replica's lease (twice the cycle) was a TTL Redis refused on every cycle."""
    with pytest.raises(ConfigError) as caught:
        load_settings({key: value})
    assert str(caught.value) == f"[plugin.dtms]: {key}: must be in (0, 86400], got {value!r}"


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("last_known_seconds", 1e300, "must be in [0, 86400], got 1e+300"),
        ("actions.unknown_wait_seconds", 1e9, "must be in [0, 86400], got 1000000000.0"),
        ("monitor_seconds", 0, "must be in (0, 86400], got 0.0"),
    ],
)
def test_the_other_durations_are_bounded_too(key: str, value: float, said: str) -> None:
    group, _, name = key.rpartition(".")
    table: dict[str, object] = {group: {name: value}} if group else {key: value}
    with pytest.raises(ConfigError) as caught:
        load_settings(table)
    assert str(caught.value) == f"[plugin.dtms]: {key}: {said}"


def test_a_day_is_the_longest_duration_and_loads() -> None:
    table: dict[str, object] = {key: MAX_SECONDS for key in DURATIONS}
    table |= {"last_known_seconds": MAX_SECONDS, "actions": {"unknown_wait_seconds": MAX_SECONDS}}
    settings = load_settings(table)
    assert settings.monitor_seconds == settings.lease_seconds == MAX_SECONDS
    assert ServerSettings(monitor_seconds=MAX_SECONDS).monitor_seconds == MAX_SECONDS
    with pytest.raises(
        ValueError, match=r"monitor_seconds: .*at most 86,400 \(a day\), got 1000000000.0"
    ):
        ServerSettings(monitor_seconds=1e9)


def test_the_largest_spans_load() -> None:
    table = {"retention_days": 36_500, "fresh_seconds": 86_400, "last_known_seconds": 86_400}
    settings = load_settings(table)
    assert (settings.retention_days, settings.fresh_seconds) == (36_500, 86_400)


@pytest.mark.parametrize("fast", [t.value for t in Timeframe if t is not Timeframe.MN1])
def test_the_largest_spans_are_still_dates_on_every_timeframe(fast: str) -> None:
    """What the engine computes with them (machine.py, rails.py, snapshot.py,
    local_commits.py, remote_states.py), at the year 2500 and at 1970."""
    settings = DtmsSettings(fast_timeframe=fast, timeframes="explicit", signal_timeframe="MN1")
    for now in (datetime(2500, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)):
        assert now + settings.fast_bars(MAX_BARS) > now
        assert now + settings.fast.period * MAX_BARS > now
        assert now + timedelta(seconds=MAX_FRESH_SECONDS) > now
    assert datetime(1970, 1, 1, tzinfo=UTC) - timedelta(days=MAX_RETENTION_DAYS)


def _config(tmp_path: Path, line: str) -> Path:
    config = tmp_path / "mine.toml"
    config.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f'[host.paper]\naccount_file = "{tmp_path / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n{line}\n'
    )
    return config


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("retention_days = 1e6", "retention_days: must be in (0, 36500], got 1000000.0"),
        ("monitor_seconds = 1e9", "monitor_seconds: must be in (0, 86400], got 1000000000.0"),
    ],
    ids=["retention_days", "monitor_seconds"],
)
def test_dtms_serve_refuses_a_span_past_its_bound_in_one_line(
    tmp_path: Path, line: str, said: str
) -> None:
    config = _config(tmp_path, line)
    done = subprocess.run(
        [str(BIN / "dtms"), "serve", "--config", str(config), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (out,) = done.stderr.strip().splitlines()
    assert out.endswith(f"mine.toml [plugin.dtms]: {said}"), out
    assert not (tmp_path / "state").exists()


def test_hostapp_plugins_says_the_plugin_cannot_start(tmp_path: Path) -> None:
    """It said "enabled" before, for a plugin that would fail every cycle."""
    config = _config(tmp_path, "retention_days = 1e6")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    done = subprocess.run(
        [str(BIN / "hostapp"), "plugins", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert "retention_days: must be in (0, 36500], got 1000000.0" in said, said
