"""A plugin's name is its identity: two plugins of one name, and names in the
configuration that no plugin has, are errors that say what to do."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.replay_cli import bars_folder
from support.hostapp_plugin_doubles import Recorder
from support.loader_kit import DOUBLES, TRIPWIRE, NeverLoad, ep, load, statuses
from support.plugin_dist import hostapp, install

from hookspecs import ConfigError


@pytest.fixture(autouse=True)
def _forget_tripwire() -> None:
    sys.modules.pop(TRIPWIRE, None)


def test_duplicate_names_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"two plugins are named 'x': builtin .* and entry point"):
        load(builtins={"x": Recorder()}, eps=[ep("x", TRIPWIRE)])
    with pytest.raises(ConfigError, match="two plugins are named 'y'"):
        load(eps=[ep("y", TRIPWIRE), ep("y", f"{DOUBLES}:Defensive")])


@pytest.mark.parametrize(
    ("config", "env"),
    [({"plugins": {"disabled": ["y"]}}, {}), ({}, {"HOSTAPP_DISABLE_PLUGINS": "y"})],
)
def test_a_name_used_twice_but_disabled_stops_nothing(
    config: dict[str, Any], env: dict[str, str]
) -> None:
    """Disabling is how a user gets past a broken install: it used to fail as well."""
    twice = [NeverLoad(name="y", value=TRIPWIRE, group="hostapp"),
             NeverLoad(name="y", value=f"{DOUBLES}:Defensive", group="hostapp")]  # fmt: skip
    host = load(config, eps=[*twice, ep("trip", TRIPWIRE)], env=env)
    assert [(r.name, r.status) for r in host.listing()] == [("trip", "enabled"), ("y", "disabled")]


def test_same_entry_point_seen_twice_is_one_plugin() -> None:
    host = load(eps=[ep("trip", TRIPWIRE), ep("trip", TRIPWIRE)])
    assert statuses(host) == {"trip": "enabled"}


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ({"plugin": {"ghost": {}}}, {}, r"plugins.toml \[plugin.ghost\]: no plugin named 'ghost'"),
        ({"plugins": {"order": ["a", "ghost"]}}, {}, r"\[plugins\] key 'order': no plugin"),
        ({}, {"HOSTAPP_DISABLE_PLUGINS": "ghost"}, "HOSTAPP_DISABLE_PLUGINS: no plugin"),
        ({}, {"HOSTAPP_LOAD_PLUGINS": "a,ghost"}, "HOSTAPP_LOAD_PLUGINS: no plugin"),
    ],
)
def test_unknown_plugin_names_in_config_are_errors(
    config: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load(config, builtins={"a": Recorder()}, env=env)
    assert "known: a" in str(info.value)


def test_disabling_a_plugin_not_installed_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A plugins.toml shared by machines turns off an optional plugin some lack: that was
    an error (exit 2) on those, so the file could not be shared. Its table is not read."""
    config = {"plugins": {"disabled": ["ghost", "a"]}, "plugin": {"ghost": {"x": 1}}}
    host = load(config, builtins={"a": Recorder(), "b": Recorder()})
    assert statuses(host) == {"a": "disabled", "b": "enabled"}
    said = [r for r in caplog.records if "ghost" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING"
    assert "[plugins] disabled: no plugin installed is named 'ghost'" in said[0].getMessage()


def test_disabling_a_slip_of_an_installed_plugins_name_is_an_error() -> None:
    """``disabled = ["dtsm"]`` meant DTMS: ignored as not installed, it would leave DTMS
    running; a name a letter or two off an installed plugin's is refused, naming it."""
    with pytest.raises(ConfigError) as info:
        load({"plugins": {"disabled": ["exitz"]}}, builtins={"exits": Recorder()})
    assert str(info.value).endswith(
        "[plugins] key 'disabled': no plugin named 'exitz': did you mean 'exits'? (a name "
        "no plugin here has is ignored, which would leave 'exits' running)"
    )


def test_the_table_of_an_optional_plugin_not_enabled_is_said_unread(tmp_path: Path) -> None:
    """``[plugin.trail]`` written, ``enabled`` forgotten: only an INFO line (in the log
    file) said the plugin was off, and its settings were silently ignored. Now one
    WARNING at start-up, on the terminal too, and a warning in the listing."""
    env = install(
        tmp_path, "class Plugin:\n    pass\n", {"trail": "Plugin"}, group="hostapp.optional"
    )
    folder = bars_folder(tmp_path, bars=300)
    with (folder / "plugins.toml").open("a") as f:
        f.write("\n[plugin.trail]\nperiod = 3\n")
    listing = hostapp(folder, env, "plugins")
    assert listing.returncode == 0, listing.stderr
    said = [line for line in listing.stdout.splitlines() if line.startswith("trail: warning:")]
    assert len(said) == 1, listing.stdout
    assert "[plugin.trail] is not read" in said[0] and 'enabled = ["trail"]' in said[0]
    run = hostapp(folder, {**env, "HOSTAPP_DISABLE_PLUGINS": "dtms"}, "replay", "XAUUSD.csv")
    assert run.returncode == 0, run.stderr[-2000:]
    warned = [line for line in run.stderr.splitlines() if "[plugin.trail] is not read" in line]
    assert len(warned) == 1, run.stderr[-2000:]


@pytest.mark.parametrize("group", ["hostapp", "hostapp.optional"])
def test_a_third_party_plugin_named_like_the_hosts_own_says_how_out(
    tmp_path: Path, group: str
) -> None:
    """A distribution whose entry point is called ``exits`` (the host's exit manager's
    name) stops every command: the line names both, the distribution to uninstall and
    the switch that keeps both off, and that switch works. An optional one (group
    ``hostapp.optional``) said nothing: being off, it switched the host's exit manager
    off with it, listed as "not enabled (optional)", and every run went without it."""
    env = install(tmp_path, "class Plugin:\n    pass\n", {"exits": "Plugin"}, group=group)
    listing = hostapp(tmp_path, env, "plugins")
    assert listing.returncode == 2, listing.stderr
    line = listing.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "two plugins are named 'exits'" in line
    assert "from probe-plugins 0.1" in line and "'hostapp.exits:ExitManager'" in line
    assert "pip uninstall probe-plugins" in line
    assert "HOSTAPP_DISABLE_PLUGINS=exits" in line
    off = hostapp(tmp_path, {**env, "HOSTAPP_DISABLE_PLUGINS": "exits"}, "plugins")
    assert off.returncode == 0, off.stderr
    rows = {r.split()[0]: r for r in off.stdout.splitlines()[1:]}
    assert "disabled" in rows["exits"]


def test_two_optional_plugins_of_one_name_stop_nothing_until_one_is_enabled(
    tmp_path: Path,
) -> None:
    """Neither runs unless enabled, so neither is in the way; enabled, the name is
    ambiguous, and the line names both."""
    source = "class Plugin:\n    pass\nclass Other:\n    pass\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = install(tmp_path / "a", source, {"twin": "Plugin"}, group="hostapp.optional")
    install(tmp_path / "b", source, {"twin": "Other"}, group="hostapp.optional")
    other = tmp_path / "b" / "twin_plugins-0.1.dist-info"  # a distribution of another name
    (tmp_path / "b" / "probe_plugins-0.1.dist-info").rename(other)
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: twin-plugins\nVersion: 0.1\n")
    env["PYTHONPATH"] = f"{tmp_path / 'b'}:{env['PYTHONPATH']}"
    listing = hostapp(tmp_path, env, "plugins")
    assert listing.returncode == 0, listing.stderr
    rows = {r.split()[0]: r for r in listing.stdout.splitlines()[1:]}
    assert "not enabled (optional)" in rows["twin"]
    enabled = hostapp(tmp_path, {**env, "HOSTAPP_LOAD_PLUGINS": "twin"}, "plugins")
    assert enabled.returncode == 2
    assert "two plugins are named 'twin'" in enabled.stderr
    assert "'probe_plugins:Plugin'" in enabled.stderr and "'probe_plugins:Other'" in enabled.stderr


def test_disabling_a_name_no_plugin_has_is_said_by_the_listing_as_by_a_run(
    tmp_path: Path,
) -> None:
    """``disabled = ["foo_bar_baz"]``: a run said it in a WARNING line, while ``hostapp
    plugins`` (table and ``--json``) said nothing. Now the listing says the same words,
    under its table, or on stderr beside the JSON rows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    folder = bars_folder(tmp_path, bars=300)
    text = (folder / "plugins.toml").read_text()
    assert "\ndisabled = []" in text  # the shipped plugins.toml's
    (folder / "plugins.toml").write_text(
        text.replace("\ndisabled = []", '\ndisabled = ["foo_bar_baz"]', 1)
    )
    said = "plugins.toml [plugins] disabled: no plugin installed is named 'foo_bar_baz'"
    run = hostapp(folder, {**env, "HOSTAPP_DISABLE_PLUGINS": "dtms"}, "replay", "XAUUSD.csv")
    assert run.returncode == 0, run.stderr[-2000:]
    (warned,) = [line for line in run.stderr.splitlines() if said in line]
    words = warned[warned.index(said) :]
    assert words.endswith("; nothing to switch off, so ignored")
    table = hostapp(folder, env, "plugins")
    assert table.returncode == 0, table.stderr
    assert [line for line in table.stdout.splitlines() if said in line] == [f"warning: {words}"]
    listing = hostapp(folder, env, "plugins", "--json")
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)  # the rows alone on stdout
    assert listing.stderr.splitlines() == [f"hostapp: warning: {words}"]
