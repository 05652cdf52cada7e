"""A replay of a symbol the paper broker does not know (a share, ``GOOG``) trades on the
rules a ``[host.paper.symbols.GOOG]`` table gives, not the guessed ones, and its note
says whose rules they are instead of calling them guessed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.replay_cli import ROOT
from hostapp_report.test_guessed_rules_note import BARS, scaled

from hostapp.brokers.paper import PaperBroker
from hostapp.brokers.paper_rules import PaperSettings
from hostapp.brokers.paper_symbols import parse_paper_symbols
from hostapp.symbol_rules import guessed_rules_note, symbol_infos

GOOG_TABLE = """
[host.paper.symbols.GOOG]
digits = 1
contract_size = 100
volume_min = 1
volume_step = 1
profit_currency = "USD"
"""


def replay_goog(folder: Path, table: str) -> dict[str, Any]:
    folder.mkdir()
    shutil.copy(ROOT / "plugins.toml", folder / "plugins.toml")
    with (folder / "plugins.toml").open("a") as f:
        f.write(table)
    (folder / "GOOG.csv").write_text("time,open,high,low,close\n" + "\n".join(scaled(300, 2)))
    proc = hostapp(folder, "replay", "GOOG.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary: dict[str, Any] = json.loads(proc.stdout)
    return summary


def test_a_replay_trades_on_the_configured_rules_and_says_so(tmp_path: Path) -> None:
    guessed = replay_goog(tmp_path / "guessed", "")
    told = replay_goog(tmp_path / "told", GOOG_TABLE)
    (note,) = [n for n in guessed["host_notes"] if "GOOG" in n and not n.startswith("costs")]
    assert "does not know GOOG" in note and "2 digits, a lot of 1 unit" in note
    assert "a [host.paper.symbols.NAME] table in plugins.toml gives the real ones" in note
    (note,) = [n for n in told["host_notes"] if "GOOG" in n and not n.startswith("costs")]
    assert (
        note
        == "rules from plugins.toml for GOOG (1 digits, a lot of 100 units; volume_max guessed)"
    )
    # a lot of 100 shares, at least one lot: each trade risks more money than the
    # guessed 1-share lot sized to the risk, whatever the R multiples
    assert told["max_drawdown"] > guessed["max_drawdown"]
    assert (told["pnl"], told["max_drawdown_pct"]) != (guessed["pnl"], guessed["max_drawdown_pct"])


def test_the_note_of_a_table_names_what_it_leaves_to_the_guess() -> None:
    table = {
        "GOOG": {
            "digits": 2,
            "contract_size": 1,
            "volume_min": 1,
            "volume_step": 1,
            "volume_max": 50,
        },
        "US500": {"contract_size": 1},
        "XAUUSD": {"digits": 3},
    }
    told = parse_paper_symbols(table, "plugins.toml")
    series = {"GOOG": BARS, "US500": BARS, "XAUUSD": BARS, "GBPJPY": BARS}
    broker = PaperBroker(symbols=symbol_infos(series, told), settings=PaperSettings(symbols=table))
    note = guessed_rules_note(broker, list(series))
    assert note is not None
    assert note.startswith(
        "rules from plugins.toml for GOOG (2 digits, a lot of 1 unit); US500 (2 digits, a lot "
        "of 1 unit; digits, volume_min, volume_step, volume_max guessed); XAUUSD (3 digits, "
        "a lot of 100 units); the paper broker does not know GBPJPY and guessed"
    )
    broker = PaperBroker(
        symbols=symbol_infos({"GOOG": BARS}, told), settings=PaperSettings(symbols=table)
    )
    assert "guessed" not in (guessed_rules_note(broker, ["GOOG"]) or "")


def test_a_table_for_a_symbol_without_bars_is_said_unused() -> None:
    """A GOOG table while the file is GOOG.m (tables match exact names), or a table left
    from another run: said, not silently ignored."""
    table = {"GOOG": {"contract_size": 1}, "XAUUSD": {"digits": 3}}
    told = parse_paper_symbols(table, "plugins.toml")
    broker = PaperBroker(
        symbols=symbol_infos({"XAUUSD": BARS}, told), settings=PaperSettings(symbols=table)
    )
    note = guessed_rules_note(broker, ["XAUUSD"])
    assert note is not None and note.endswith(
        "plugins.toml's [host.paper.symbols] tables for GOOG are unused: this run has no bars "
        "of that symbol (tables match exact names)"
    )
