"""A spike (a bar ten times away from the closes on both sides) is refused by default, a
slip in the file, and the refusal names the way to keep it: thin but real data (a
micro-cap token's single-trade bars at ten or twenty times the last) had no way around
it. ``[host] spikes = "keep"`` keeps such bars for ``hostapp run``'s ``[host] data`` and
``hostapp replay``, ``--keep-spikes`` for one replay; the run's notes count them."""

import json
from datetime import UTC, datetime
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.market.synthetic import generate_bars

KEEP = '[host] spikes = "keep" (or hostapp replay --keep-spikes)'
KEPT = (
    "XAUUSD.csv: 1 spike kept (line 202: a bar more than 10 times away from the closes on "
    'both sides), as asked ([host] spikes = "keep" or --keep-spikes)'
)
DATA = '[host]\nsymbols = ["XAUUSD"]\ndata = { XAUUSD = "XAUUSD.csv" }\n'


def _spiky(tmp_path: Path) -> None:
    """XAUUSD.csv, 400 M5 bars with line 202 twenty times its price."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 400, seed=5)
    path = write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    lines = path.read_text().splitlines()
    cells = lines[201].split(",")
    cells[1:5] = [repr(float(c) * 20) for c in cells[1:5]]
    lines[201] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _notes(tmp_path: Path) -> list[str]:
    return json.loads((tmp_path / "r" / "summary.json").read_text())["host_notes"]


def test_a_replay_refuses_a_spike_naming_the_way_to_keep_it(tmp_path: Path) -> None:
    _spiky(tmp_path)
    said = one_error_line(hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv"))
    assert said.startswith("hostapp: XAUUSD.csv:202: a spike: open "), said
    assert said.endswith(f"correct the line or delete it, or, if the market is that thin, "
                         f"keep such bars with {KEEP}")  # fmt: skip


def test_a_replay_keeps_spikes_with_the_option_or_the_key(tmp_path: Path) -> None:
    _spiky(tmp_path)
    proc = hostapp(tmp_path, "replay", "--report", "r", "--keep-spikes",
                   "XAUUSD.csv")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert KEPT in _notes(tmp_path)
    (tmp_path / "keep.toml").write_text('[host]\nspikes = "keep"\n')
    proc = hostapp(tmp_path, "replay", "--config", "keep.toml", "--report",
                   "r", "XAUUSD.csv")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert KEPT in _notes(tmp_path)


def test_a_run_on_host_data_honours_the_key(tmp_path: Path) -> None:
    _spiky(tmp_path)
    (tmp_path / "plugins.toml").write_text(DATA)
    said = one_error_line(hostapp(tmp_path, "run", "--no-compare", "--report", "r"))
    assert "XAUUSD.csv:202: a spike: " in said and said.endswith(KEEP), said
    (tmp_path / "plugins.toml").write_text(DATA + 'spikes = "keep"\n')
    proc = hostapp(tmp_path, "run", "--no-compare", "--report", "r")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert KEPT in _notes(tmp_path)


def test_an_unknown_spikes_value_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[host]\nspikes = "drop"\n')
    said = one_error_line(hostapp(tmp_path, "run", "--no-compare", "--report", "r"))
    assert said.startswith("hostapp: plugins.toml [host]: key 'spikes': "), said
    assert "'refuse'" in said and "'keep'" in said, said
