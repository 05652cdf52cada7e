"""A sweep in which the plugin under test did nothing in any setting's run is void, as
such an A/B is: exit 3 and the reason; each row of sweep.json says whether it was idle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, replay

TO_L1 = "dtms.thresholds.to_l1"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bars_folder(tmp_path_factory.mktemp("sweep_idle"))


#: never armed, no trailing stop, no account rails: DTMS does nothing at all (its trailing
#: stop and its rails act on trades it has not armed for, and change the figures)
IDLE_DTMS = (
    "[plugin.dtms.arming]\nage_bars = 10000\nprofit_r = 1000\nloss_r = -1000\n"
    "[plugin.dtms.trail]\nenabled = false\n"
    "[plugin.dtms.rails]\ndaily_loss_pct = 100\nstreak_bars = 0\n"
)
AGE = "dtms.arming.age_bars"


def test_a_sweep_in_which_the_plugin_did_nothing_in_any_row_fails_as_a_void_ab(
    folder: Path,
) -> None:
    """DTMS never arms on 1,500 bars: every row's figures equal the baseline's, which a
    trader would read as "the settings make no difference"; exit 3 and the reason, as a
    void A/B; each row of sweep.json says why."""
    config = folder / "idle.toml"
    config.write_text(f"{(folder / 'plugins.toml').read_text()}\n{IDLE_DTMS}")
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--config", "idle.toml", "--report", "idle",
        "--sweep", f"{TO_L1}=-3,-1",
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "hostapp: dtms did nothing in any setting's run, so the sweep shows nothing: "
        "DTMS evaluated 0 of"
    ), proc.stderr[-2000:]
    rows = json.loads((folder / "idle" / "sweep.json").read_text())["rows"]
    assert len(rows) == 2 and all(r["did_nothing"].startswith("DTMS evaluated 0") for r in rows)
    assert (folder / "idle" / "sweep.csv").exists()  # the table is still written


def test_a_sweep_with_one_idle_row_succeeds_and_names_that_row(folder: Path) -> None:
    config = folder / "idle_some.toml"
    config.write_text(f"{(folder / 'plugins.toml').read_text()}\n{IDLE_DTMS}")
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--config", "idle_some.toml", "--report", "some",
        "--sweep", f"{AGE}=10000,3",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((folder / "some" / "sweep.json").read_text())["rows"]
    idle = {r["settings"][AGE]: r["did_nothing"] for r in rows}
    assert idle[3] is None and idle[10000].startswith("DTMS evaluated 0")
