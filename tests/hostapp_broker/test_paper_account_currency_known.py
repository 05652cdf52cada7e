"""``[host.paper] currency`` is a currency code: any three letters
were taken, and ``currency = "ABC"`` (or the metal ``"XAU"``) ran a whole replay with
exit 0 and ``P&L (realised) 44.34 ABC``, no pair of the run's matching it, so nothing
converted. Now the command stops with one line naming the key and a few accepted ones;
any ISO 4217 currency (an account in rupees) is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_report.test_guessed_rules_note import scaled

from hostapp.brokers.paper_rules import PaperSettings

ROOT = Path(__file__).resolve().parents[2]


def _folder(tmp_path: Path, currency: str) -> Path:
    shipped = (ROOT / "plugins.toml").read_text(encoding="utf-8")
    (tmp_path / "plugins.toml").write_text(
        shipped.replace("[host.paper]\n", f'[host.paper]\ncurrency = "{currency}"\n', 1),
        encoding="utf-8",
    )
    (tmp_path / "XAUUSD.csv").write_text(
        "time,open,high,low,close\n" + "\n".join(scaled(2000, 2)), encoding="utf-8"
    )
    return tmp_path


@pytest.mark.parametrize("currency", ["ABC", "XAU"])
@pytest.mark.parametrize("command", [("replay", "XAUUSD.csv"), ("run", "--days", "1")])
def test_an_unknown_account_currency_stops_the_command_with_one_line(
    tmp_path: Path, currency: str, command: tuple[str, ...]
) -> None:
    line = one_error_line(hostapp(_folder(tmp_path, currency), *command))
    assert "plugins.toml [host.paper]: key 'currency'" in line, line
    assert f"'{currency}' is not a currency code" in line, line
    assert "USD, EUR, GBP, JPY" in line, line


def test_known_currencies_in_any_case_are_still_accepted() -> None:
    assert PaperSettings(currency="chf").currency == "CHF"
    assert PaperSettings(currency="JPY").currency == "JPY"
    for real in ("inr", "BRL", "ZAR", "CNH"):  # accounts brokers keep, not only majors
        assert PaperSettings(currency=real).currency == real.upper()
    with pytest.raises(ValueError, match="a coin such as BTC"):  # booked to the cent: 0.00
        PaperSettings(currency="BTC")
    for bad in ("ABC", "XAU", "xag"):
        with pytest.raises(ValueError, match="is not a currency code"):
            PaperSettings(currency=bad)
