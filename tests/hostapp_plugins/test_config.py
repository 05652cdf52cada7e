"""plugins.toml: defaults, a missing file, and every kind of mistake named precisely."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from hookspecs import ConfigError
from hostapp.brokers.mt5_settings import Mt5Settings, load_mt5_settings
from hostapp.config import HostConfig, config_from_dict, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(text)
    return path


def test_missing_default_file_means_all_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.path is None
    # the one key a missing file does not leave empty: the paper account that
    # `hostapp run --live` and `dtms serve` share, where the shipped file puts it
    shipped = load_config(Path(__file__).parents[2] / "plugins.toml")
    assert config.host.paper == {"account_file": shipped.host.paper["account_file"]}
    assert config == HostConfig(
        host=dataclasses.replace(HostConfig().host, paper=config.host.paper), defaults_only=True
    )
    assert config.source == "the defaults (no plugins.toml)"  # no file to blame
    assert config.host.broker == "paper"
    assert config.host.symbols == ["XAUUSD", "EURUSD"]
    assert config.plugins.on_error == "isolate"


def test_default_file_in_cwd_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[host]\ntimeframe = "H1"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(None).host.timeframe == "H1"


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_full_file_is_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [host]
        broker = "mt5"
        symbols = ["XAUUSD"]
        cycle_seconds = 5
        data = { XAUUSD = "x.csv" }
        [host.paper]
        balance = 5000
        [plugins]
        disabled = ["a"]
        order = ["b", "a"]
        on_error = "raise"
        [plugin.a]
        timeout_seconds = 0.5
        colour = "red"
        """,
    )
    config = load_config(path)
    assert config.path == path
    assert config.host.broker == "mt5"
    assert config.host.cycle_seconds == 5.0
    assert config.host.data == {"XAUUSD": "x.csv"}
    assert config.host.paper == {"balance": 5000}
    assert config.plugins.order == ["b", "a"]
    assert config.plugins.on_error == "raise"
    assert config.plugin_tables == {"a": {"timeout_seconds": 0.5, "colour": "red"}}
    assert config.timeout_for("a") == 0.5
    assert config.timeout_for("b") == 5.0


def test_a_byte_order_mark_is_read_as_notepad_writes_it(tmp_path: Path) -> None:
    """Windows' Notepad saves UTF-8 with a BOM: it was 'invalid TOML: Invalid statement
    (at line 1, column 1)'."""
    path = tmp_path / "plugins.toml"
    path.write_bytes("\ufeff[host]\nsymbols = ['XAUUSD']\n".encode())
    assert load_config(path).host.symbols == ["XAUUSD"]


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins\n")
    with pytest.raises(ConfigError, match=rf"^{path}: invalid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[plugins]\nordr = []\n", r"\[plugins\]: unknown key 'ordr'"),
        ("[plugins]\norder = 3\n", r"\[plugins\]: key 'order': expected a list, got 3"),
        ("[plugins]\norder = [3]\n", r"\[plugins\]: key 'order'\[0\]: expected a string, got 3"),
        ("[plugins]\non_error = 'ignore'\n", r"\[plugins\]: key 'on_error': expected one of"),
        ("[plugins]\ndisabled = ['a', 'a']\n", r"\[plugins\]: key 'disabled': 'a' listed twice"),
        (
            "[plugins]\nenabled = ['atr_trailing']\ndisabled = ['atr_trailing']\n",
            r"\[plugins\]: keys 'enabled' and 'disabled' both name 'atr_trailing': a plugin is "
            "one or the other",
        ),
        (
            "[host]\nsymbols = ['XAUUSD', 'EURUSD', 'XAUUSD']\n",
            r"\[host\]: key 'symbols': 'XAUUSD' listed twice",
        ),
        ("[plugins]\ntimeout_seconds = 3\n", r"\[plugins\]: unknown key 'timeout_seconds'"),
        ("[host]\nbroker = 'ib'\n", r"\[host\]: key 'broker': expected one of"),
        ("[host]\ncycle_seconds = '30'\n", r"\[host\]: key 'cycle_seconds': expected a number"),
        ("[host]\ncycle_seconds = 0\n", r"\[host\]: key 'cycle_seconds': expected a number > 0"),
        ("[host]\nsymbols = []\n", r"\[host\]: key 'symbols'"),
        ("[host]\ndata = { XAUUSD = 3 }\n", r"\[host\]: key 'data.XAUUSD': expected a CSV path"),
        ("[hosts]\n", r"unknown table or key 'hosts'"),
        ("plugins = 3\n", r"'plugins' must be a table"),
        (
            "[plugin]\ndtms = 3\n",
            r"\[plugin.dtms\]: must be a table \(\[plugin.dtms\]\), got a number$",
        ),
        (
            "[[plugin.dtms]]\ntoken_env = 'SECRET_NAME'\n",
            r"\[plugin.dtms\]: must be one table, written \[plugin.dtms\]; \[\[plugin.dtms\]\] "
            r"\(double brackets\) makes an array of 1 table$",
        ),
        ("[plugin.a]\ntimeout_seconds = -1\n", r"\[plugin.a\]: key 'timeout_seconds'"),
        ("[plugin.a]\ntimeout_seconds = true\n", r"\[plugin.a\]: key 'timeout_seconds'"),
    ],
)
def test_mistakes_name_file_table_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


_DAY = r"at most 86,400 \(a day\)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[host]\ncycle_seconds = 1e300\n",
            rf"\[host\]: key 'cycle_seconds': .* {_DAY}, got 1e\+300",
        ),
        ("[host]\ncycle_seconds = inf\n", rf"\[host\]: key 'cycle_seconds': .* {_DAY}, got inf"),
        ("[host]\ncycle_seconds = nan\n", rf"\[host\]: key 'cycle_seconds': .* {_DAY}, got nan"),
        ("[host]\ncycle_seconds = 86401\n", rf"\[host\]: key 'cycle_seconds': .* {_DAY}"),
        (
            "[plugin.a]\ntimeout_seconds = 1e300\n",
            rf"\[plugin.a\]: key 'timeout_seconds': .*{_DAY}",
        ),
        (
            "[host.mt5]\nretry_delay_seconds = inf\n",
            rf"\[host\.mt5\]: retry_delay_seconds: .*{_DAY}",
        ),
        ("[host.mt5]\nresolve_seconds = nan\n", rf"\[host\.mt5\]: resolve_seconds: .*{_DAY}"),
        (
            "[host.mt5]\noffset_probe_seconds = 1e300\n",
            rf"\[host\.mt5\]: offset_probe_seconds: .*{_DAY}",
        ),
        (
            "[host.mt5]\noffset_recheck_minutes = 1e300\n",
            r"\[host\.mt5\]: offset_recheck_minutes: expected > 0 and at most 1,440 \(a day\)",
        ),
        (
            "[host.mt5]\ntimeout_ms = 100000000000\n",
            r"\[host\.mt5\]: timeout_ms: expected > 0 and at most 86,400,000 \(a day\)",
        ),
    ],
)
def test_durations_are_at_most_a_day(tmp_path: Path, text: str, message: str) -> None:
    """``cycle_seconds = 1e300`` passed "a number > 0" and ended a live run in an
    OverflowError; every duration a user sets is bounded the same way."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_config_from_dict_for_tests() -> None:
    config = config_from_dict({"plugin": {"x": {"k": 1}}})
    assert config.table_for("x") == {"k": 1}
    config.table_for("x")["k"] = 2  # a copy: the config is not changed
    assert config.table_for("x") == {"k": 1}
    assert config.table_for("missing") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Checked on a paper run too: a plaintext password never sits in the file unnoticed.
        (
            '[host]\nbroker = "paper"\n[host.mt5]\npassword = "x"\n',
            r"\[host\.mt5\]: key 'password'",
        ),
        ("[host.mt5]\nlogn = 1\n", r"\[host\.mt5\]: unknown key 'logn'"),
        ('[host]\nbroker = "mt5"\n[host.paper]\nbalance = -5\n', r"\[host\.paper\]: balance"),
        ("[host.paper]\nmargin = 'netting'\n", r"\[host\.paper\]: unknown key 'margin'"),
        ("[host.paper]\ncurrency = 'dollars'\n", r"\[host\.paper\]: currency"),
        ("[host]\ntimeframe = 'M7'\n", r"\[host\]: key 'timeframe': unknown timeframe 'M7'"),
        ("[host]\ntimeframe = 'M7'\n", r"\[host\]: key 'timeframe': unknown timeframe 'M7'"),
    ],
)
def test_broker_tables_and_timeframe_are_checked_whichever_broker_runs(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path} [host")
    assert "\n" not in str(info.value)


def test_valid_broker_tables_and_every_known_timeframe_are_accepted(tmp_path: Path) -> None:
    for timeframe in ("M1", "M5", "M15", "M30", "H1", "H4", "D1"):
        path = write(
            tmp_path,
            f'[host]\ntimeframe = "{timeframe}"\n'
            '[host.mt5]\nlogin = 1\npassword_env = "MT5_PASSWORD"\n'
            '[host.paper]\nbalance = 5000\nmargin_mode = "netting"\n',
        )
        config = load_config(path)
        assert config.host.timeframe == timeframe
        assert config.host.mt5 == {"login": 1, "password_env": "MT5_PASSWORD"}


@pytest.mark.parametrize("doc", ["README.md", "docs/mt5.md"])
def test_the_documented_mt5_tables_are_valid_configurations(doc: str, tmp_path: Path) -> None:
    """Every key the guides show for ``[host.mt5]``, the commented ones too, is one the
    host reads (a key left out of the README once; a misspelt one would be refused), and
    the full example shows every key there is."""
    text = (Path(__file__).parents[2] / doc).read_text(encoding="utf-8")
    blocks = [b.split("```")[0] for b in text.split("```toml\n")[1:]]
    blocks = [b for b in blocks if "[host.mt5]" in b]
    assert blocks
    read = {f.name for f in dataclasses.fields(Mt5Settings)}
    shown: set[str] = set()
    for block in blocks:
        lines = [
            line[2:] if line.startswith("# ") and " = " in line else line
            for line in block.splitlines()
        ]
        config = load_config(write(tmp_path, "\n".join(lines) + "\n"))
        assert config.host.broker == "mt5" and load_mt5_settings(config.host.mt5)
        keys = set(tomllib.loads("\n".join(lines))["host"]["mt5"])  # its own table's keys
        assert keys <= read
        shown |= keys
    assert read <= shown  # the guide leaves none out


def test_an_overlong_symbol_name_is_refused_in_one_short_line(tmp_path: Path) -> None:
    """A paste gone wrong in ``[host] symbols`` was echoed whole: a 5,173-character line."""
    path = write(tmp_path, f'[host]\nsymbols = ["{"X" * 5000}"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    said = str(info.value)
    assert "a symbol name is at most 64 characters" in said and "(5,000 characters)" in said
    assert len(said) < 250 and "\n" not in said
    assert load_config(write(tmp_path, f'[host]\nsymbols = ["{"X" * 64}"]\n'))
