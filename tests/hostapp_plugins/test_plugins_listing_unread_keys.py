"""``hostapp plugins`` configures every enabled plugin on a throwaway host (docs/plugins.md,
``configure``), but did not say a key of a plugin's table no ``configure`` read (a typo:
``max_hour`` for ``max_hours``), though :mod:`hostapp.table_reads` said it did; ``hostapp
run`` said it. Now the listing names it under the plugin's row, and in the row's
``warnings`` with ``--json``, as the run's WARNING does."""

from __future__ import annotations

import json
from pathlib import Path

from support.plugin_dist import hostapp, install

BY_NAME = """
from hookspecs import hookimpl


class ByName:
    @hookimpl
    def configure(self, host):
        self.hours = host.config_for("probe").get("max_hours", 1)


plugin = ByName()
"""

SAID = "cfg.toml [plugin.probe]: key(s) max_hour read by no one"


def _folder(tmp_path: Path) -> dict[str, str]:
    env = install(tmp_path, BY_NAME, {"probe": "plugin"})
    (tmp_path / "cfg.toml").write_text(
        '[host]\nsymbols = ["XAUUSD"]\n\n[plugin.probe]\nmax_hour = 5\n'
    )
    return env


def test_the_listing_names_a_key_no_configure_read(tmp_path: Path) -> None:
    env = _folder(tmp_path)
    done = hostapp(tmp_path, env, "plugins", "--config", "cfg.toml")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if SAID in line]
    assert len(said) == 1 and said[0].startswith("probe: warning: "), done.stdout


def test_the_json_listing_puts_it_in_the_plugins_row(tmp_path: Path) -> None:
    env = _folder(tmp_path)
    done = hostapp(tmp_path, env, "plugins", "--config", "cfg.toml", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = [r for r in json.loads(done.stdout) if r["name"] == "probe"]
    assert [w for w in row["warnings"] if SAID in w], row
