"""Bars shared through the paper account file: the host's broker writes each closed bar,
another connection to the file (the server's) reads them back, as from an MT5 terminal."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.brokers.paper_account import BARS_KEPT
from hostapp.brokers.paper_market import PaperTerminalMarket
from hostapp.market.resample import resample
from hostapp.testing import bars_from_closes

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, on an H4 boundary


def _closes(n: int) -> list[float]:
    return [2000.0 + ((i * 7) % 13) * 0.25 - (i % 5) * 0.1 for i in range(n)]


@pytest.fixture
def account(tmp_path: Path) -> Path:
    return tmp_path / "account.db"


def test_the_reader_sees_the_bars_the_writer_fed_on_every_timeframe(account: Path) -> None:
    bars = bars_from_closes(_closes(100), start=T0, spread=0.3)
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    market = PaperTerminalMarket(account, "M5")
    try:
        for bar in bars[:59]:
            writer.on_bar("XAUUSD", bar)
        assert market.now() == bars[58].time + timedelta(minutes=5)
        assert market.bars("XAUUSD", "M5", 10) == bars[49:59]
        assert market.bars("XAUUSD", "M5", 500) == bars[:59]
        # 59 M5 bars: 19 complete M15 buckets; the 20th lacks its last bar
        m15 = market.bars("XAUUSD", "M15", 100)
        assert m15 == resample(bars[:57], "M15")
        assert len(m15) == 19 and m15[-1].close == bars[56].close
        assert market.bars("XAUUSD", "M15", 3) == m15[-3:]
        writer.on_bar("XAUUSD", bars[59])
        assert market.bars("XAUUSD", "M15", 1)[0].close == bars[59].close
        h1 = market.bars("XAUUSD", "H1", 10)
        assert h1 == resample(bars[:60], "H1") and len(h1) == 5
        assert market.bars("EURUSD", "M5", 10) == []  # never fed
        assert market.has_bars("XAUUSD") and not market.has_bars("EURUSD")
    finally:
        writer.release()
        market.close()


def test_a_bar_fed_after_the_account_time_is_not_shown_yet(account: Path) -> None:
    """Two symbols: the clock is the newest quote, and a bar is shown once closed by it."""
    xau = bars_from_closes(_closes(10), start=T0)
    eur = bars_from_closes([1.1] * 10, start=T0)
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    market = PaperTerminalMarket(account)
    try:
        for bar in xau[:6]:
            writer.on_bar("XAUUSD", bar)
        writer.on_bar("EURUSD", eur[0])
        assert market.now() == xau[5].time + timedelta(minutes=5)
        assert market.bars("EURUSD", "M5", 10) == [eur[0]]
        assert market.bars("XAUUSD", "M5", 10) == xau[:6]
    finally:
        writer.release()
        market.close()


def test_a_new_run_on_the_same_file_starts_the_series_over(account: Path) -> None:
    first = bars_from_closes(_closes(40), start=T0)
    second = bars_from_closes([1990.0 + i for i in range(5)], start=T0 + timedelta(hours=1))
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    market = PaperTerminalMarket(account)
    try:
        for bar in first:
            writer.on_bar("XAUUSD", bar)
        writer.release()
        writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
        for bar in second:  # starts inside the first run's range: its later bars are dropped
            writer.on_bar("XAUUSD", bar)
        assert market.bars("XAUUSD", "M5", 100) == first[:12] + second
    finally:
        writer.release()
        market.close()


def test_the_file_keeps_about_the_newest_two_thousand_bars(account: Path) -> None:
    bars = bars_from_closes(_closes(BARS_KEPT + 300), start=T0)
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    market = PaperTerminalMarket(account)
    try:
        for bar in bars:
            writer.on_bar("XAUUSD", bar)
        with sqlite3.connect(account) as db:
            (kept,) = db.execute("SELECT COUNT(*) FROM bars WHERE symbol = 'XAUUSD'").fetchone()
        assert BARS_KEPT <= kept < BARS_KEPT + 100  # trimmed in steps, never below the mark
        got = market.bars("XAUUSD", "M5", 5000)
        assert got == bars[-kept:]
    finally:
        writer.release()
        market.close()


def test_the_file_declares_the_bars_timeframe(account: Path) -> None:
    bars = bars_from_closes(_closes(8), start=T0, step_seconds=60)
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)), timeframe="M1")
    market = PaperTerminalMarket(account, "M5")  # the reader's guess; the file knows better
    try:
        for bar in bars:
            writer.on_bar("XAUUSD", bar)
        assert market.base_timeframe == "M1"
        assert market.bars("XAUUSD", "M1", 3) == bars[-3:]
        assert market.bars("XAUUSD", "M5", 3) == resample(bars[:5], "M5", base="M1")
    finally:
        writer.release()
        market.close()


def test_before_anything_is_written_there_are_no_bars(account: Path) -> None:
    market = PaperTerminalMarket(account, before_first_quote=lambda: T0)
    try:
        assert market.bars("XAUUSD", "M15", 10) == []
        assert market.now() == T0
        assert not market.has_bars("XAUUSD")
    finally:
        market.close()
