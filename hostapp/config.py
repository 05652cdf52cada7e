"""plugins.toml: read it once, check every key, and hand out plain frozen settings.

Why so strict: a typo in a trading host's configuration (``ordr = [...]``,
``cycle_seconds = "30"``) must stop it before it trades, with one line that names the file,
the table and the key. Whether a ``[plugin.NAME]`` table names a real plugin can only be
known once plugins are discovered, so that check lives in :mod:`hostapp.loader`.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from hookspecs import ConfigError, Timeframe, parse_settings
from hookspecs.settings import HOST_KEYS

from .brokers.mt5_settings import load_mt5_settings
from .brokers.paper_rules import PaperSettings
from .brokers.paper_symbols import parse_paper_symbols
from .durations import AT_MOST, is_duration
from .market.zones import parse_zone

DEFAULT_PATH = Path("plugins.toml")
#: How messages name the configuration when there is no plugins.toml: a setting they
#: name (``[plugin.dtms] timeframes``) is a default, which the user sets by writing one.
NO_FILE = f"the defaults (no {DEFAULT_PATH})"
#: The environment variable naming plugins to leave out of a run, as ``[plugins] disabled``
#: does (:mod:`.loader`); what a message offers when there is no plugins.toml to write in.
DISABLE_ENV = "HOSTAPP_DISABLE_PLUGINS"
#: The parent of plugins' state folders in a live run (``HostView.data_dir``).
DEFAULT_DATA_ROOT = Path(".hostapp")
#: The paper account file when there is no plugins.toml at all, as the shipped file names
#: it: ``hostapp run --live`` and ``hostapp serve`` (``dtms serve``) then share one account.
DEFAULT_ACCOUNT_FILE = str(DEFAULT_DATA_ROOT / "paper-account.sqlite")
DEFAULT_TIMEOUT_SECONDS = 5.0
#: The plugin ``hostapp replay --compare`` and ``hostapp run``'s A/B compare by default:
#: a default value, the only place the host names a plugin.
DEFAULT_COMPARE = "dtms"

_T = TypeVar("_T")
_TOP_LEVEL = ("host", "plugins", "plugin")


#: The longest symbol name ``[host] symbols`` takes (as the DTMS API's registrations).
MAX_SYMBOL_CHARS = 64


@dataclass(frozen=True)
class HostSettings:
    """The ``[host]`` table: what the trading loop runs on."""

    broker: Literal["paper", "mt5"] = "paper"
    symbols: list[str] = field(default_factory=lambda: ["XAUUSD", "EURUSD"])
    timeframe: str = "M5"
    cycle_seconds: float = 30
    #: a live run's (``run --live``, ``serve``): seconds of the wall clock before a plugin
    #: its breaker switched off is tried again, doubled after each retry that fails, up
    #: to an hour (:mod:`hostapp.breaker`); 0: never, as in a replay, which never retries
    breaker_retry_seconds: float = 300
    #: "builtin", or a table symbol → a CSV file, or a list of them (joined in time order)
    data: str | dict[str, str | list[str]] = "builtin"
    #: where the CSV files' times without an offset were written (``--data-tz`` of a
    #: replay): ``UTC``, an IANA name or a fixed offset; unset, UTC but for the files
    #: whose layout says its own (HistData.com's: Eastern Standard Time)
    data_tz: str | None = None
    #: the clock the host's coarser bars are built on from the data's (the D1 days, H4
    #: blocks and weeks of a replay or a paper run; ``--bar-clock``): unset, the data's
    #: own (``data_tz``); "America/New_York+7" makes FX days that open at New York's
    #: close, as most brokers' servers do, out of UTC bars, without a Sunday stub
    bar_clock: str | None = None
    #: a spike in the CSV files (a bar ten times away from both neighbours,
    #: :mod:`hostapp.market.csvspikes`): refused, or kept for thin but real data
    #: (``--keep-spikes`` of a replay)
    spikes: Literal["refuse", "keep"] = "refuse"
    paper: dict[str, Any] = field(default_factory=dict)
    mt5: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # parse_settings turns ValueError into a ConfigError naming the table.
        if not self.symbols or not all(s.strip() for s in self.symbols):
            raise ValueError(
                f"key 'symbols': expected non-empty symbol names, got {self.symbols!r}"
            )
        long = next((s for s in self.symbols if len(s) > MAX_SYMBOL_CHARS), None)
        if long is not None:  # a paste gone wrong, echoed whole, made a 5,000-character line
            raise ValueError(
                f"key 'symbols': a symbol name is at most {MAX_SYMBOL_CHARS} characters, got "
                f"{long[:20]!r}… ({len(long):,} characters)"
            )
        twice = _listed_twice(self.symbols)  # as [plugins] order refuses one: no guessing
        if twice:
            raise ValueError(f"key 'symbols': {twice} listed twice")
        # one spelling from here on: "h1" in the file is "H1" everywhere else
        object.__setattr__(
            self, "timeframe", Timeframe.parse(self.timeframe, "key 'timeframe'").value
        )
        if not is_duration(self.cycle_seconds):
            raise ValueError(
                f"key 'cycle_seconds': expected a number > 0 and {AT_MOST}, got "
                f"{self.cycle_seconds}"
            )
        if not is_duration(self.breaker_retry_seconds, zero=True):
            raise ValueError(
                f"key 'breaker_retry_seconds': expected a number >= 0 (0: never) and "
                f"{AT_MOST}, got {self.breaker_retry_seconds}"
            )
        if isinstance(self.data, dict):
            for symbol, csv in self.data.items():
                files = csv if isinstance(csv, list) else [csv]
                if not files or not all(isinstance(f, str) and f.strip() for f in files):
                    raise ValueError(
                        f"key 'data.{symbol}': expected a CSV path or a list of them, got {csv!r}"
                    )
        for key in ("data_tz", "bar_clock"):
            try:
                if getattr(self, key) is not None:
                    parse_zone(getattr(self, key))
            except ValueError as exc:
                raise ValueError(f"key '{key}': {exc}") from None


@dataclass(frozen=True)
class PluginsSettings:
    """The ``[plugins]`` table: which plugins run, in what order, and how failures count."""

    disabled: list[str] = field(default_factory=list)
    #: optional plugins (entry-point group ``hostapp.optional``) to run
    enabled: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    on_error: Literal["isolate", "raise"] = "isolate"

    def __post_init__(self) -> None:
        for key in ("disabled", "enabled", "order"):
            twice = _listed_twice(getattr(self, key))
            if twice:
                raise ValueError(f"key {key!r}: {twice} listed twice")
        both = [n for n in self.enabled if n in self.disabled]
        if both:  # disabled won without a word: which one was meant is the user's to say
            raise ValueError(
                f"keys 'enabled' and 'disabled' both name {', '.join(map(repr, both))}: "
                "a plugin is one or the other"
            )


def _listed_twice(names: list[str]) -> str:
    """The names ``names`` holds more than once, quoted; empty when none."""
    return ", ".join(map(repr, sorted({n for n in names if names.count(n) > 1})))


@dataclass(frozen=True)
class HostConfig:
    """Everything plugins.toml says. ``plugin_tables`` are the raw ``[plugin.NAME]`` tables;
    each plugin parses its own in ``configure``."""

    path: Path | None = None
    host: HostSettings = field(default_factory=HostSettings)
    plugins: PluginsSettings = field(default_factory=PluginsSettings)
    plugin_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Where plugins' state folders live (``host.data_dir(name)`` is ``data_root/name``).
    #: Not a plugins.toml key: a simulated run points it at a folder of its own, so that
    #: replayed trades never reach the state a live host uses.
    data_root: Path = DEFAULT_DATA_ROOT
    #: ``[host] symbols`` is written in the file (not the default): a ``[host] data``
    #: table must then give bars to exactly those symbols (:mod:`hostapp.data`). Not a
    #: key either; left unset, the table's symbols are the ones traded.
    symbols_named: bool = False
    #: No plugins.toml was read (none in the folder, none named): every setting is a
    #: default, and messages name the defaults, not a file that does not exist. Not a key.
    defaults_only: bool = False
    #: Which run of its command this configuration runs (``hookspecs.RunView``): the
    #: summary's ``run`` name, and whether it is the command's own run (an A/B's baseline
    #: and same-entries runs and a sweep's runs are not). Not keys: ``hostapp.ab_runs`` sets them.
    run_name: str = "run"
    own_run: bool = True

    @property
    def source(self) -> str:
        """How messages name this configuration: the file as given, ``plugins.toml`` for
        a configuration built from a table, or the defaults when no file was read."""
        if self.path is not None:
            return str(self.path)
        return NO_FILE if self.defaults_only else str(DEFAULT_PATH)

    def table_for(self, name: str) -> dict[str, Any]:
        """A copy of ``[plugin.NAME]`` (empty when absent), nested tables and lists too, so
        a plugin cannot edit ours, nor what another plugin's ``configure`` reads."""
        return copy.deepcopy(dict(self.plugin_tables.get(name, {})))

    def timeout_for(self, name: str) -> float:
        return float(
            self.plugin_tables.get(name, {}).get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        )


def load_config(path: str | Path | None) -> HostConfig:
    """Read plugins.toml. ``None`` means ``./plugins.toml`` if it exists, else all defaults;
    an explicitly named file that does not exist is an error."""
    if path is None:
        if not DEFAULT_PATH.is_file():
            paper = {"account_file": DEFAULT_ACCOUNT_FILE}
            return HostConfig(host=HostSettings(paper=paper), defaults_only=True)
        path = DEFAULT_PATH
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # Notepad starts the file with a BOM
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    _check_depth(data, str(path))
    return config_from_dict(data, path=path)


#: The deepest nesting of tables and arrays plugins.toml may have: the file needs four
#: (``[plugin.NAME]`` with a table of lists); far more is a mistake or an attack, and
#: would reach the recursion limit of whatever walks the values later.
MAX_DEPTH = 16


def _check_depth(data: Mapping[str, Any], where: str) -> None:
    """A ConfigError naming the first key nested deeper than ``MAX_DEPTH`` (walked
    without recursion, so any depth is measured)."""
    stack: list[tuple[str, Any, int]] = [(key, value, 1) for key, value in data.items()]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: key {key!r}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}", v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value))


def config_from_dict(data: Mapping[str, Any], *, path: Path | None = None) -> HostConfig:
    """Validate an already-parsed TOML document (tests build configs this way)."""
    where = str(path) if path is not None else str(DEFAULT_PATH)
    for key in data:
        if key not in _TOP_LEVEL:
            known = ", ".join(_TOP_LEVEL)
            raise ConfigError(f"{where}: unknown table or key {key!r} (known: {known})")
    host = _parse(HostSettings, _table(data, "host", where), f"{where} [host]")
    # Both broker tables are checked whenever present, whichever broker runs: a plaintext
    # [host.mt5] password must never sit in the file unnoticed because this run is paper.
    if "mt5" in _table(data, "host", where):
        load_mt5_settings(host.mt5, f"{where} [host.mt5]")
    if "paper" in _table(data, "host", where):
        parse_settings(PaperSettings, host.paper, f"{where} [host.paper]")
        parse_paper_symbols(host.paper.get("symbols"), where)
    plugins = _parse(PluginsSettings, _table(data, "plugins", where), f"{where} [plugins]")
    tables: dict[str, dict[str, Any]] = {}
    for name, table in _table(data, "plugin", where).items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where} [plugin.{name}]: {_not_a_table(f'plugin.{name}', table)}")
        _check_host_keys(table, f"{where} [plugin.{name}]")
        tables[name] = dict(table)
    named = "symbols" in _table(data, "host", where)
    return HostConfig(
        path=path, host=host, plugins=plugins, plugin_tables=tables, symbols_named=named
    )


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} {_not_a_table(key, value)}")
    return value


def _not_a_table(key: str, value: object) -> str:
    """Why ``value`` at ``key`` is not the table it must be, in the file's words: a
    table written twice-bracketed (``[[plugin.dtms]]``, an array of tables) is the
    usual slip; its contents are not echoed (a table may hold a password)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return (
            f"must be one table, written [{key}]; [[{key}]] (double brackets) makes an "
            f"array of {len(value)} table{'s' if len(value) > 1 else ''}"
        )
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return f"must be a table ([{key}]), got {kind.get(type(value), type(value).__name__)}"


def _parse(cls: type[_T], table: Mapping[str, Any], where: str) -> _T:
    """parse_settings, minus its leniency for plugin host keys, which mean nothing here."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in table:
        if key in HOST_KEYS and key not in names:
            raise ConfigError(
                f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(names))})"
            )
    return parse_settings(cls, table, where)


def _check_host_keys(table: Mapping[str, Any], where: str) -> None:
    """The keys of a plugin table that the host itself reads (``timeout_seconds``)."""
    if "timeout_seconds" in table:
        value = table["timeout_seconds"]
        if not is_duration(value):
            raise ConfigError(
                f"{where}: key 'timeout_seconds': expected a number > 0 and {AT_MOST}, got "
                f"{value!r}"
            )


def with_settings(config: HostConfig, changes: Iterable[tuple[str, Any]]) -> HostConfig:
    """The same config with plugin settings changed: each change is ``("NAME.KEY",
    value)``, ``NAME`` the plugin (its ``[plugin.NAME]`` table) and ``KEY`` a key of it,
    dotted for a nested table (``dtms.thresholds.to_l1``). Whether the value is a good one
    is the plugin's to say (its ``configure``); a path through a value that is not a table
    is a ConfigError naming the key."""
    tables = {name: copy.deepcopy(table) for name, table in config.plugin_tables.items()}
    for dotted, value in changes:
        name, _, key = dotted.partition(".")
        if not name or not key or "" in key.split("."):
            raise ConfigError(f"{dotted!r}: expected NAME.KEY (a plugin and a key of its table)")
        table = tables.setdefault(name, {})
        *parents, last = key.split(".")
        for i, part in enumerate(parents):
            inner = table.setdefault(part, {})
            if not isinstance(inner, dict):
                where = ".".join([name, *parents[: i + 1]])
                raise ConfigError(f"{dotted}: {where} is {inner!r} in {config.source}, not a table")
            table = inner
        table[last] = value
    return dataclasses.replace(config, plugin_tables=tables)
