"""Loading rules: discovery order, disabling before import, env overrides, failures
recorded per plugin, and configuration names checked against what was discovered."""

from __future__ import annotations

import importlib.metadata
import sys
from importlib.metadata import EntryPoint
from types import ModuleType
from typing import Any

import pluggy
import pytest
from support.hostapp_plugin_doubles import AsyncSyncOnly, BadDefault, Constructed, Recorder
from support.loader_kit import DOUBLES, TRIPWIRE, NeverLoad, ep, load, statuses

from hookspecs import ConfigError, hookimpl
from hostapp.config import config_from_dict
from hostapp.errors import PluginError
from hostapp.loader import load_plugins


@pytest.fixture(autouse=True)
def _forget_tripwire() -> None:
    sys.modules.pop(TRIPWIRE, None)


def test_the_projects_own_plugins_are_entry_points_like_any_other() -> None:
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="hostapp")}
    assert installed["dtms"] == "dtms_plugin.plugin:DtmsPlugin"
    assert installed["exits"] == "hostapp.exits:ExitManager"
    host = load_plugins(config_from_dict({}), env={})  # nothing handed in: found installed
    rows = {r.name: r for r in host.listing()}
    assert rows["dtms"].source == rows["exits"].source == "entry point"
    assert rows["exits"].distribution == "hostapp"


def test_builtins_then_entry_points_sorted_by_name() -> None:
    host = load(
        builtins={"zeta": Recorder(), "alpha": Recorder()},
        eps=[ep("m_ep", f"{DOUBLES}:Defensive"), ep("b_ep", f"{DOUBLES}:Constructed")],
    )
    rows = host.listing()
    assert [r.name for r in rows] == ["alpha", "b_ep", "m_ep", "zeta"]  # listing: call order
    assert {r.name: r.source for r in rows} == {
        "alpha": "builtin",
        "zeta": "builtin",
        "b_ep": "entry point",
        "m_ep": "entry point",
    }
    assert all(r.status == "enabled" for r in rows)


def test_builtin_import_path_is_imported_and_class_instantiated() -> None:
    before = Constructed.instances
    host = load(builtins={"c": f"{DOUBLES}:Constructed"})
    assert Constructed.instances == before + 1
    assert isinstance(host.get("c"), Constructed)
    assert host.listing()[0].hooks == ["is_defensive"]
    assert host.listing()[0].distribution == "hostapp"


def test_module_entry_point_is_the_plugin() -> None:
    host = load(eps=[ep("trip", TRIPWIRE)])
    plugin = host.get("trip")
    assert isinstance(plugin, ModuleType) and plugin.__name__ == TRIPWIRE
    assert host.listing()[0].hooks == ["is_defensive"]


STATEFUL = "support.hostapp_stateful_plugin"
REEXPORTED = "support.hostapp_reexported_plugin"


def test_each_run_gets_a_module_plugin_as_its_file_sets_it() -> None:
    """A run's A/B, or the next run of a sweep in the same process, must not start from
    the globals the run before left (docs/plugins.md)."""
    first = load(eps=[ep("mod", STATEFUL)]).get("mod")
    first.on_cycle(None, None)  # type: ignore[union-attr]
    first.on_cycle(None, None)  # type: ignore[union-attr]
    second = load(eps=[ep("mod", STATEFUL)]).get("mod")
    assert (first.cycles_seen, second.cycles_seen) == (2, 0)  # type: ignore[union-attr]
    assert sys.modules[STATEFUL].cycles_seen == 0  # whoever imported it keeps its own


def test_each_run_gets_an_object_plugin_as_imported() -> None:
    sys.modules.pop(STATEFUL, None)  # imported afresh: the copy is taken before any run
    hosts = [load(builtins={"obj": f"{STATEFUL}:counter"}) for _ in range(2)]
    first, second = (h.get("obj") for h in hosts)
    first.on_cycle(None, None)  # type: ignore[union-attr]
    assert (first.cycles_seen, second.cycles_seen) == (1, 0)  # type: ignore[union-attr]
    third = load(eps=[ep("obj", f"{STATEFUL}:counter")]).get("obj")
    assert third is not sys.modules[STATEFUL].counter and third.cycles_seen == 0  # type: ignore[union-attr]


def test_an_object_that_cannot_be_copied_is_taken_anew_from_its_module(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An object holding a lock was shared by every run, its state leaking from one run
    to the next (and the results changing with --jobs): each run takes it anew from its
    module executed afresh, as a module plugin is, without a warning."""
    with caplog.at_level("WARNING", logger="hostapp.plugins"):
        first, second = (load(builtins={"lk": f"{STATEFUL}:locked"}).get("lk") for _ in range(2))
        first.on_cycle(None, None)  # type: ignore[union-attr]
    assert first is not second and second is not sys.modules[STATEFUL].locked
    assert (first.cycles_seen, second.cycles_seen) == (1, 0)  # type: ignore[union-attr]
    assert not [r for r in caplog.records if "cannot be copied" in r.getMessage()]


def test_an_object_its_module_does_not_make_is_shared_and_said_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="hostapp.plugins"):
        runs = [load(builtins={"lk": f"{REEXPORTED}:locked"}).get("lk") for _ in range(2)]
    assert runs[0] is runs[1] is sys.modules[STATEFUL].locked
    warned = [r.getMessage() for r in caplog.records if "cannot be copied" in r.getMessage()]
    assert len(warned) == 1 and "must reset its state in configure()" in warned[0]


@pytest.mark.parametrize(
    ("config", "env"),
    [
        ({"plugins": {"disabled": ["trip"]}}, {}),
        ({}, {"HOSTAPP_DISABLE_PLUGINS": "other, trip"}),
        ({}, {"HOSTAPP_LOAD_PLUGINS": "other"}),
        ({}, {"HOSTAPP_LOAD_PLUGINS": ""}),
    ],
)
def test_disabled_plugin_is_blocked_and_never_imported(
    config: dict[str, Any], env: dict[str, str]
) -> None:
    eps: list[EntryPoint] = [NeverLoad(name="trip", value=TRIPWIRE, group="hostapp")]
    host = load(config, builtins={"other": Recorder()}, eps=eps, env=env)
    assert statuses(host)["trip"] == "disabled"
    assert host.pm.is_blocked("trip")
    assert TRIPWIRE not in sys.modules
    assert host.get("trip") is None
    assert not host.is_enabled("trip")


def test_empty_allow_list_loads_nothing() -> None:
    host = load(builtins={"a": Recorder(), "b": Recorder()}, env={"HOSTAPP_LOAD_PLUGINS": ""})
    assert statuses(host) == {"a": "disabled", "b": "disabled"}
    assert host.names == []


def test_allow_list_loads_only_listed() -> None:
    host = load(builtins={"a": Recorder(), "b": Recorder()}, env={"HOSTAPP_LOAD_PLUGINS": "b"})
    assert statuses(host) == {"a": "disabled", "b": "enabled"}


def test_import_failure_is_recorded_and_others_load() -> None:
    host = load(
        builtins={"missing": "no_such_module_xyz:Plugin", "ok": Recorder()},
        eps=[ep("broken", "support.hostapp_broken_plugin")],
    )
    rows = {r.name: r for r in host.listing()}
    assert rows["ok"].status == "enabled"
    assert rows["missing"].status == "failed"
    assert "ModuleNotFoundError" in (rows["missing"].error or "")
    assert rows["broken"].status == "failed"
    assert "needs a package that is not installed" in (rows["broken"].error or "")
    assert host.pm.get_plugin("broken") is None
    # where it failed, as data: a caller (serve, the refusal's words) never parses the text
    assert (rows["missing"].failed_in, rows["broken"].failed_in, rows["ok"].failed_in) == (
        "load",
        "load",
        None,
    )


def test_import_failure_with_on_error_raise_names_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"plugin 'missing': failed to load: ModuleNotFound"):
        load({"plugins": {"on_error": "raise"}}, builtins={"missing": "no_such_module_xyz"})


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (BadDefault(), "parameter(s) ticket have default values"),
        (AsyncSyncOnly(), "is_defensive is sync only but is implemented with async def"),
        (f"{DOUBLES}:UnknownHook", "no hook named 'on_tick'"),
        (f"{DOUBLES}:UnknownArg", "moment"),
        (f"{DOUBLES}:Wrapper", "wrappers are not supported"),
    ],
)
def test_invalid_plugin_is_rejected_completely_and_others_load(plugin: Any, message: str) -> None:
    good = Recorder(is_defensive=True)
    host = load(builtins={"bad": plugin, "good": good})
    rows = {r.name: r for r in host.listing()}
    assert rows["bad"].status == "failed"
    assert message in (rows["bad"].error or "")
    assert rows["bad"].hooks  # the listing still says what it tried to implement
    assert rows["good"].status == "enabled"
    assert host.pm.get_plugin("bad") is None
    for caller in vars(host.pm.hook).values():  # no impl of the rejected plugin anywhere
        assert all(impl.plugin_name != "bad" for impl in caller.get_hookimpls())


def test_invalid_plugin_with_on_error_raise_stops_start_up() -> None:
    with pytest.raises(PluginError, match=r"plugin 'bad': rejected: .*default values"):
        load({"plugins": {"on_error": "raise"}}, builtins={"bad": BadDefault()})


def test_order_puts_listed_names_first_and_the_rest_by_name() -> None:
    plugins = {n: Recorder(is_defensive=False) for n in ("a", "b", "c", "d")}
    host = load({"plugins": {"order": ["c", "a"]}}, builtins=dict(plugins))
    assert host.names == ["c", "a", "b", "d"]
    host.is_defensive(object(), 1)  # type: ignore[arg-type]
    callers = host._callers_of("is_defensive")
    assert [c[0] for c in callers] == ["c", "a", "b", "d"]


def test_settings_for_returns_the_plugin_table() -> None:
    host = load({"plugin": {"a": {"k": 1, "timeout_seconds": 2}}}, builtins={"a": Recorder()})
    assert host.settings_for("a") == {"k": 1, "timeout_seconds": 2}
    assert host.settings_for("missing") == {}


def test_a_plugin_named_like_the_hosts_recorder_is_one_error() -> None:
    """``run_report`` is the host's own recorder: a plugin of that name was a traceback
    ("two plugins are named") at the start of every run."""
    from datetime import UTC, datetime

    from hookspecs import ConfigError, hookimpl
    from hostapp.app import build_sim_app
    from hostapp.config import config_from_dict
    from hostapp.market.synthetic import generate_bars

    class Reporter:
        @hookimpl
        def run_report(self) -> dict[str, object]:
            return {}

    bars = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 50, seed=1)
    with pytest.raises(ConfigError, match="a plugin is named 'run_report', the name of the host"):
        build_sim_app(
            config_from_dict({}), {"XAUUSD": bars}, base_timeframe="M5",
            builtins={"run_report": Reporter()}, entry_points=[], env={},
        )  # fmt: skip


class Unmarked:
    """Hook-named methods without ``@hookimpl``: pluggy never calls them."""

    def allow_order(self, host: Any, order: Any) -> str:
        return "never called"

    def on_cycle(self, host: Any, now: Any) -> None:
        raise RuntimeError("never called")

    def helper(self) -> None:
        """Not named like a hook: nothing to say."""


def test_methods_named_like_hooks_without_hookimpl_are_said_at_load(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Such a plugin was loaded, listed as enabled and never called, without a word."""
    with caplog.at_level("WARNING", logger="hostapp.plugins"):
        host = load(builtins={"plain": Unmarked})
    (info,) = host.listing()
    assert info.status == "enabled" and info.hooks == []
    (warning,) = info.warnings
    assert warning.startswith("method(s) allow_order, on_cycle named like hooks but not marked")
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line == f"plugin plain: {warning}"


class Typo:
    @hookimpl
    def on_trade_close(self, host: Any, trade: Any, reason: Any) -> None:
        """One letter short of on_trade_closed."""


def test_a_hook_name_typo_is_rejected_with_the_name_it_is_close_to() -> None:
    host = load(builtins={"typo": Typo})
    (info,) = host.listing()
    assert info.status == "failed"
    assert info.error == (
        "rejected: on_trade_close: no hook named 'on_trade_close' (did you mean 'on_trade_closed'?)"
    )
    assert info.failed_in == "rejected"


def test_an_entry_point_named_like_the_hosts_recorder_names_its_distribution() -> None:
    """Every command stopped on it, and the message did not say what to uninstall."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from hostapp.app import build_sim_app
    from hostapp.market.synthetic import generate_bars

    named = ep("run_report", f"{DOUBLES}:Recorder")._for(  # type: ignore[attr-defined]
        SimpleNamespace(name="odd-reports", version="1.2")
    )
    bars = generate_bars("XAUUSD", datetime(2024, 1, 2, tzinfo=UTC), 50, seed=1)
    with pytest.raises(ConfigError) as raised:
        build_sim_app(
            config_from_dict({}), {"XAUUSD": bars}, base_timeframe="M5",
            entry_points=[named], env={},
        )  # fmt: skip
    assert "an entry point of the distribution odd-reports 1.2" in str(raised.value)
    assert "`pip uninstall odd-reports`" in str(raised.value)


def test_a_table_of_a_plugin_without_configure_is_said_to_be_checked_by_no_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """plugins.toml says every key is checked; a plugin without configure got any key
    silently. Its keys are named in a warning (it may still read them later)."""
    tables = {"plugin": {"plain": {"max_bar": 3, "timeout_seconds": 2}, "told": {"x": 1}}}
    with caplog.at_level("WARNING", logger="hostapp.plugins"):
        host = load(tables, builtins={"plain": NoConfigure, "told": Configured})
    rows = {r.name: r for r in host.listing()}
    (warning,) = rows["plain"].warnings
    assert warning.endswith(
        "[plugin.plain]: key(s) max_bar checked by no one: the plugin has no configure hook"
    )
    assert rows["told"].warnings == []  # its configure checks its own table
    assert [r.getMessage() for r in caplog.records] == [f"plugin plain: {warning}"]


class Configured:
    @hookimpl
    def configure(self) -> None:
        """Would check its table with parse_settings."""


class NoConfigure:
    @hookimpl
    def on_cycle(self) -> None:
        """Reads no table."""


class FarOff:
    @hookimpl
    def on_tick(self, host: Any) -> None:
        """No hook of the contract: on_action (0.62 alike by difflib) was offered."""

    @hookimpl
    def on_trade_open(self, host: Any, trade: Any) -> None:
        """on_trade_closed, its opposite, was offered (0.79 alike)."""

    @hookimpl
    def on_cylce(self, host: Any) -> None:
        """A misspelling: offered what it misspells."""


def test_a_hook_name_far_from_every_hook_gets_no_suggestion() -> None:
    host = load(builtins={"far": FarOff})
    (info,) = host.listing()
    assert info.error == (
        "rejected: on_cylce: no hook named 'on_cylce' (did you mean 'on_cycle'?); on_tick: no "
        "hook named 'on_tick' (docs/plugins.md lists the hooks); on_trade_open: no hook named "
        "'on_trade_open' (docs/plugins.md lists the hooks)"
    )


other_impl = pluggy.HookimplMarker("someframework")


class MarkedElsewhere:
    """Marked by another project's marker (a copy of a tutorial's, another framework's)."""

    @other_impl
    def on_cycle(self, host: Any, now: Any) -> None:
        raise RuntimeError("never called")


def test_a_hook_marked_by_another_projects_hookimpl_says_whose_mark_it_is() -> None:
    """It read as not marked at all: the author who did mark it found no reason."""
    host = load(builtins={"elsewhere": MarkedElsewhere})
    (info,) = host.listing()
    assert info.status == "enabled" and info.hooks == []
    assert info.warnings == [
        "method(s) on_cycle named like hooks but not marked @hookimpl are never called "
        "(marked by the hookimpl of pluggy project 'someframework', not this host's: use "
        "'from hookspecs import hookimpl')"
    ]
