"""plugins.toml and CSV files cannot produce a traceback: random bytes and random
structure give a config or a ConfigError, bars or a CsvError, each one line; the real
commands answer a file nested 5,000 deep or a CSV field over csv.field_size_limit() with
one line naming the file (and line), exit 2."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookspecs import ConfigError
from hostapp.config import config_from_dict, load_config
from hostapp.market.csvdata import CsvError, load_csv


def _bin(name: str, module: str) -> list[str]:
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def _one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    for text in expected:
        assert text in lines[0]


def test_a_config_nested_5000_deep_is_one_line_in_run_and_serve(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("[host]\nsymbols = " + "[" * 5000 + "]" * 5000 + "\n")
    for command in (
        [*_bin("hostapp", "hostapp.cli"), "run", "--config", str(deep), "--days", "1"],
        [*_bin("dtms", "dtms_plugin.cli"), "serve", "--config", str(deep), "--port", "0"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        _one_line(done, str(deep), "nested too deeply")


def test_a_config_nested_deeper_than_the_limit_names_the_key(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("[plugin.dtms]\nx = " + "[" * 40 + "]" * 40 + "\n")
    try:
        load_config(deep)
    except ConfigError as exc:
        assert "key 'plugin.dtms.x" in str(exc) and "nested more than" in str(exc)
    else:  # pragma: no cover - the assertion that fails
        raise AssertionError("a config nested 40 deep was accepted")


def test_a_csv_field_over_the_limit_is_one_line_in_replay_and_run(tmp_path: Path) -> None:
    """A field over the csv module's limit sits on a line over the reader's own: the
    line is refused first, as it is read."""
    csv = tmp_path / "XAUUSD.csv"
    csv.write_text(
        "time,open,high,low,close\n2026-01-05T00:00:00Z,1,1,1,1\n"
        f'2026-01-05T00:05:00Z,1,1,1,"{"9" * 140_000}"\n'
    )
    config = tmp_path / "plugins.toml"
    config.write_text(f'[host]\nsymbols = ["XAUUSD"]\ndata = {{ XAUUSD = "{csv}" }}\n')
    for command in (
        [*_bin("hostapp", "hostapp.cli"), "replay", str(csv)],
        [*_bin("hostapp", "hostapp.cli"), "run", "--config", str(config), "--no-compare"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        _one_line(done, f"{csv}:3", "a line longer than 128 KiB")


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.binary(max_size=400))
def test_random_bytes_as_plugins_toml_give_a_config_or_one_line(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plugins.toml"
        path.write_bytes(raw)
        try:
            load_config(path)
        except ConfigError as exc:
            assert "\n" not in str(exc).strip()


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["host", "plugins", "plugin", "broker", "symbols", "timeframe", "cycle_seconds", "data",
     "paper", "mt5", "disabled", "enabled", "order", "on_error", "dtms", "exits",
     "timeout_seconds", "state_dir", "strategy", "account_file"]
) | st.text(max_size=6)  # fmt: skip
_TABLES = st.recursive(
    _VALUES, lambda inner: st.dictionaries(_KEYS, inner, max_size=4), max_leaves=16
)


@_FAST
@given(st.dictionaries(_KEYS, _TABLES, max_size=4))
def test_random_structure_as_plugins_toml_gives_a_config_or_one_line(data: dict[str, Any]) -> None:
    try:
        config_from_dict(data)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()


def _load(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "XAUUSD.csv"
        path.write_bytes(raw)
        try:
            load_csv(path)
        except CsvError as exc:
            assert "\n" not in str(exc).strip()


@_FAST
@given(st.binary(max_size=400))
def test_random_bytes_as_csv_give_bars_or_one_line(raw: bytes) -> None:
    _load(raw)


_HEADERS = st.sampled_from(
    ["time,open,high,low,close", "time,open,high,low,close,volume,spread",
     "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>",
     "Date,Open,High,Low,Close,Adj Close,Volume", "Price,Close,High,Low,Open,Volume"]
)  # fmt: skip
_CELLS = st.one_of(
    st.sampled_from(["2026-01-05T00:00:00Z", "2026.01.05", "00:05:00", "1.5", "2000", "-1",
                     "nan", "inf", "1e400", "", '"', "0", "2026-01-05 00:05:00+00:00"]),
    st.text(max_size=10),
)  # fmt: skip


@_FAST
@given(_HEADERS, st.lists(st.lists(_CELLS, min_size=1, max_size=9), max_size=6))
def test_random_rows_under_a_real_header_give_bars_or_one_line(
    header: str, rows: list[list[str]]
) -> None:
    delimiter = "\t" if "\t" in header else ","
    text = "\n".join([header, *(delimiter.join(row) for row in rows)]) + "\n"
    _load(text.encode("utf-8", "surrogatepass"))
