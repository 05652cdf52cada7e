"""Per-plugin state folders come from the host (``HostView.data_dir``): a live host keeps
them under ``.hostapp``, each simulated run under a root of its own, and a plugin's own
``state_dir`` setting wins only outside simulated runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hookspecs import HostView, hookimpl
from hostapp import app as appmod
from hostapp.config import config_from_dict
from hostapp.driving import _fresh_state
from hostapp.testing import bars_from_closes


class AsksForItsFolder:
    folder: Path | None = None

    @hookimpl
    def configure(self, host: HostView) -> None:
        self.folder = host.data_dir("asker")


def test_a_live_host_keeps_each_plugins_state_under_hostapp(hostapp_factory: Any) -> None:
    plugin = AsksForItsFolder()
    hostapp_factory({"asker": plugin})
    assert plugin.folder == Path(".hostapp") / "asker"


def test_a_simulated_run_has_its_own_root_and_ignores_pinned_folders(tmp_path: Path) -> None:
    config = config_from_dict({"plugin": {"dtms": {"state_dir": str(tmp_path / "live")}}})
    (tmp_path / "report" / "run-state" / "stale").mkdir(parents=True)
    fresh = _fresh_state(config, tmp_path / "report", "run-state")
    assert fresh.data_root == tmp_path / "report" / "run-state"
    assert not (tmp_path / "report" / "run-state").exists()  # wiped: every run starts empty
    assert "state_dir" not in fresh.table_for("dtms")  # the live folder is not touched
    assert config.table_for("dtms")["state_dir"] == str(tmp_path / "live")  # not edited


def _dtms_folder(config: Any) -> Path:
    closes = [2000.0 + i % 7 for i in range(60)]
    series = {"XAUUSD": bars_from_closes(closes)}
    app = appmod.build_sim_app(config, series, base_timeframe="M5")
    plugin: Any = app.plugins.get("dtms")
    return Path(plugin.settings.state_dir)


def test_dtms_keeps_its_state_where_the_host_says_unless_its_settings_name_a_folder(
    tmp_path: Path,
) -> None:
    bare = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    assert _dtms_folder(bare) == Path(".hostapp") / "dtms"
    in_a_run = appmod.with_data_root(bare, tmp_path / "a")
    assert _dtms_folder(in_a_run) == tmp_path / "a" / "dtms"
    pinned = config_from_dict(
        {"host": {"symbols": ["XAUUSD"]}, "plugin": {"dtms": {"state_dir": str(tmp_path / "p")}}}
    )
    assert _dtms_folder(pinned) == tmp_path / "p"
    assert _dtms_folder(appmod.with_data_root(pinned, tmp_path / "b")) == tmp_path / "b" / "dtms"
