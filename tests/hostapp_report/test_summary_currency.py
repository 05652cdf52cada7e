"""Every figure of money is in the account's currency, which the summary never named:
neither summary.json (no ``currency``) nor the tables, so "-1,008.25" on a yen account
read as dollars."""

from __future__ import annotations

import json
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_report.test_guessed_rules_note import scaled

ROOT = Path(__file__).resolve().parents[2]


def on_account(folder: Path, currency: str) -> Path:
    shipped = (ROOT / "plugins.toml").read_text()
    (folder / "plugins.toml").write_text(
        shipped.replace("[host.paper]\n", f'[host.paper]\ncurrency = "{currency}"\n', 1)
    )
    (folder / "EURUSD.csv").write_text("time,open,high,low,close\n" + "\n".join(scaled(1.1, 5)))
    return folder


def test_a_replay_names_the_accounts_currency(tmp_path: Path) -> None:
    folder = on_account(tmp_path, "JPY")
    proc = hostapp(folder, "replay", "EURUSD.csv", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((folder / "out" / "summary.json").read_text())
    assert summary["currency"] == "JPY"
    rows = [" ".join(line.split()) for line in proc.stdout.splitlines()]
    (pnl,) = [r for r in rows if r.startswith("P&L (realised)")]
    assert pnl == f"P&L (realised) {summary['pnl']:,.2f} JPY"
    assert any(r.startswith("max drawdown (realised) ") and r.endswith(" JPY") for r in rows)


def test_an_ab_names_the_accounts_currency(tmp_path: Path) -> None:
    folder = on_account(tmp_path, "EUR")
    proc = hostapp(folder, "replay", "EURUSD.csv", "--compare", "--jobs", "1", "--report", "ab")
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert "P&L (realised, EUR)" in proc.stdout
    assert "expectancy / closed trade (EUR)" in proc.stdout
    report = json.loads((folder / "ab" / "summary.json").read_text())
    assert report["currency"] == report["same_entries"]["with"]["currency"] == "EUR"
