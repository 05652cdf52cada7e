"""A currency is its capitals: ``currency = "usd"`` was accepted and matched no pair, so
EURUSD's dollars were divided by its price and booked as "usd" (euros counted as
dollars: 0.43 lots sized instead of 0.39), and an account file created so refused the
settings' "USD"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hostapp.brokers.paper import PaperBroker, PaperSettings


def test_a_lower_case_currency_is_the_upper_case_one() -> None:
    assert PaperSettings(currency="usd").currency == "USD"
    lower = PaperBroker(settings=PaperSettings(currency="usd"))
    assert lower.account().currency == "USD"
    assert lower.calc_profit("EURUSD", "buy", 1.0, 1.085, 1.084) == pytest.approx(-100.0)
    euro = PaperBroker(settings=PaperSettings(currency="eUr"))
    assert euro.calc_profit("EURUSD", "buy", 1.0, 1.085, 1.084) == pytest.approx(-92.25, abs=0.01)
    with pytest.raises(ValueError, match="3-letter code"):
        PaperSettings(currency="ÄBC")


def test_an_account_file_holding_a_lower_case_currency_opens_with_its_capitals(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "account.sqlite")
    PaperBroker(settings=PaperSettings(account_file=path))
    with sqlite3.connect(path) as db:  # as an earlier version wrote a "usd" account
        db.execute("UPDATE meta SET value = 'usd' WHERE key = 'currency'")
    again = PaperBroker(settings=PaperSettings(account_file=path, currency="USD"))
    assert again.account().currency == "USD"
    assert again.calc_profit("EURUSD", "buy", 1.0, 1.085, 1.084) == pytest.approx(-100.0)
    with pytest.raises(ValueError, match="the account file's currency is 'USD'"):
        PaperBroker(settings=PaperSettings(account_file=path, currency="EUR"))
