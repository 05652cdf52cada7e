"""Charting sites' and data libraries' file names are read as the symbol they stand for
(TradingView's ``FX_EURUSD, 60``, yfinance's ``EURUSD=X`` and ``JPY=X``, OANDA's
``USD_JPY``, a lower-case ``usdjpy``), so the replay trades them on that symbol's known
rules rather than on rules guessed from the prices, and says what it read each file as."""

import json
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_market.test_market_suffixed_symbols import mt4_lines

from hookspecs.settings import ConfigError
from hostapp.file_symbols import file_symbol, renamed_note


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("FX_EURUSD, 60.csv", "EURUSD"),
        ("OANDA_XAUUSD, 60.csv", "XAUUSD"),
        ("BINANCE_BTCUSDT, 60.csv", "BTCUSDT"),  # not a known symbol, but plainly named
        ("fx_eurusd, 1D.csv", "EURUSD"),
        ("FX_IDC:EURUSD, 240_1a2b3.csv", "EURUSD"),
        ("OANDA_XAUUSD.csv", "XAUUSD"),
        ("EURUSD=X.csv", "EURUSD"),
        ("JPY=X.csv", "USDJPY"),  # yfinance quotes a lone currency against the dollar
        ("BTC-USD.csv", "BTCUSD"),
        ("USD_JPY.csv", "USDJPY"),
        ("GBP_JPY.csv", "GBPJPY"),
        ("usdjpy.csv", "USDJPY"),
        ("XAU.csv", "XAUUSD"),  # a metal alone: its price in dollars
        ("xag.csv", "XAGUSD"),
        ("^xau_d.csv", "^XAU"),  # Stooq's index of gold miners: as its name says
        ("GC=F.csv", "GC=F"),  # a future: left as written
        ("BRK-B.csv", "BRK-B"),
        ("ETH-USD.csv", "ETH-USD"),
        ("my_data_5.csv", "my_data_5"),
        ("GOOG.csv", "GOOG"),
        ("EURUSDm.csv", "EURUSDm"),  # a broker's name stays
        ("EURUSD_i.csv", "EURUSD_i"),
        ("USDJPY.m_H1_202401020000_202412312355.csv", "USDJPY.m"),
        ("XAUUSD_M5_202401020000_202412312355.csv", "XAUUSD"),
        ("xauusd_d.csv", "XAUUSD"),  # Stooq: the period after "_"
        ("eurusd_h.csv", "EURUSD"),
        ("usdjpy_5.csv", "USDJPY"),
        ("aapl_us_5.csv", "AAPL"),  # Stooq's stocks: the market after the ticker
        ("aapl_us_d.csv", "AAPL"),
        ("^spx_h.csv", "^SPX"),  # Stooq's indices: its period left out as for the rest
        ("^spx_d.csv", "^SPX"),
        ("^ndq_w.csv", "^NDQ"),
        ("^GSPC.csv", "^GSPC"),  # yfinance's index: as written
        ("data_d.csv", "data_d"),  # no symbol left: as written
        ("eurusd-h1-bid-2024-01-01-2024-03-30.csv", "EURUSD"),  # dukascopy-node
        ("xauusd-m15-ask-2024-01-01-2024-02-01.csv", "XAUUSD"),
        ("EUR_USD H1.csv", "EURUSD"),  # OANDA with its granularity
        ("USD_JPY D.csv", "USDJPY"),
        ("Binance_BTCUSDT_1h.csv", "BTCUSDT"),  # CryptoDataDownload
        ("Bitstamp_BTCUSD_d.csv", "BTCUSD"),
        ("gemini_ETHUSD_1hr.csv", "ETHUSD"),
        ("Binance_BTCUSDT_minute.csv", "BTCUSDT"),
        ("SBER_240103_240103.csv", "SBER"),  # Finam
        ("SBER_200103_201231.csv", "SBER"),  # Finam's, of days in 2020
        # a year, what the file holds, the platform after a symbol: no broker's suffix
        ("XAUUSD_2024.csv", "XAUUSD"),
        ("EURUSD_2020_2021.csv", "EURUSD"),
        ("EURUSD_data.csv", "EURUSD"),
        ("XAUUSD_mt5.csv", "XAUUSD"),
        ("EURUSD_bid.csv", "EURUSD"),
        ("XAUUSD_data_2024.csv", "XAUUSD"),
        ("USD_JPY_H1.csv", "USDJPY"),
        ("USDJPY.m_mt5_2024.csv", "USDJPY.m"),  # the broker's suffix stays
        ("XAUUSD.pro.csv", "XAUUSD.pro"),
        ("EURUSD-ecn.csv", "EURUSD-ecn"),
        ("XAUUSDpro.csv", "XAUUSDpro"),
        # words around one symbol: a known one or a currency pair among them
        ("FOREX_EURUSD_1H_ASK.csv", "EURUSD"),
        ("fx-gbpjpy-hourly.csv", "GBPJPY"),
        ("FX_EUR_USD_H1.csv", "EURUSD"),  # two neighbours make the pair
        ("crypto BTC-USD ccxt.csv", "BTCUSD"),
        ("EURUSD_vs_GBPUSD.csv", "EURUSD_vs_GBPUSD"),  # two symbols: as written
        ("XAU_INDEX.csv", "XAU_INDEX"),  # a metal's code among words: an index, maybe
        ("ETH_USDT_1h.csv", "ETH_USDT_1h"),  # no known symbol, no currency pair
        # after a word that says it holds a stock: its one ticker
        ("STOCKS_GOOGL.csv", "GOOGL"),
        ("ETF_SPY_1D_BID.csv", "SPY"),
        ("STOCKS_GOOGL_AAPL.csv", "STOCKS_GOOGL_AAPL"),  # two tickers: as written
        ("stocks_t.csv", "stocks_t"),  # a file's variant, not AT&T's ticker
        ("SPY_us.csv", "SPY_us"),  # no word says it is a stock: as written
    ],
)
def test_the_symbol_a_file_name_stands_for(name: str, symbol: str) -> None:
    assert file_symbol(f"/data/{name}") == symbol


def test_the_note_names_only_the_files_whose_names_were_read_past() -> None:
    note = renamed_note(
        {"JPY=X.csv": "USDJPY", "XAUUSD_M5_202401020000_202412312355.csv": "XAUUSD"}
    )
    assert note == (
        "files read as the symbol their names stand for: JPY=X.csv as USDJPY "
        "(--symbol names another)"
    )
    assert renamed_note({"EURUSD.csv": "EURUSD"}) is None


def test_a_yfinance_yen_file_trades_on_usdjpy_rules_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "JPY=X.csv").write_text(mt4_lines())
    (tmp_path / "USDJPY60.csv").write_text(mt4_lines())
    runs = {}
    for i, name in enumerate(("JPY=X.csv", "USDJPY60.csv")):
        proc = hostapp(tmp_path, "replay", name, "--json", "--report", f"report{i}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[name] = json.loads(proc.stdout)
    yahoo, mt4 = runs.values()
    assert yahoo["symbols"] == ["USDJPY"]
    assert (yahoo["trades"], yahoo["end_balance"]) == (mt4["trades"], mt4["end_balance"])
    assert not any("does not know" in n for n in yahoo["host_notes"])
    assert any("JPY=X.csv as USDJPY" in n for n in yahoo["host_notes"])
    assert not any("read as the symbol" in n for n in mt4["host_notes"])
    proc = hostapp(tmp_path, "replay", "JPY=X.csv", "--symbol", "YEN", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["symbols"] == ["YEN"]


def test_a_joined_binance_download_trades_as_its_symbol(tmp_path: Path) -> None:
    """``BTCUSDT-1h-2017-2019.csv`` (Binance's klines, joined over three years) was the
    symbol ``BTCUSDT-1h-2017-2019``, whose rules were then guessed; it is BTCUSDT."""
    rows = []
    for i in range(60):
        t = 1_498_906_800_000 + i * 3_600_000
        o = 2500.0 + (i % 9) * 3.5
        rows.append(f"{t},{o},{o + 9.25},{o - 8.5},{o + 1.75},114.6,{t + 3_599_999},1.0,0,0,0,0")
    (tmp_path / "BTCUSDT-1h-2017-2019.csv").write_text("\n".join(rows) + "\n")
    proc = hostapp(tmp_path, "replay", "BTCUSDT-1h-2017-2019.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["symbols"] == ["BTCUSDT"]
    guessed = [n for n in summary["host_notes"] if "guessed the trading rules" in n]
    assert guessed and "BTCUSDT: 2 digits" in guessed[0]


def test_a_symbols_files_named_by_year_join_as_that_symbol(tmp_path: Path) -> None:
    """``USDJPY_H1_2023.csv`` and ``USDJPY_H1_2024.csv`` (a year's export each, named
    symbol, period, year) were two symbols of those whole names, each replayed alone
    (two short series, each warming its indicators up again); they are USDJPY's one
    series, traded as one file of the same bars is."""
    lines = mt4_lines().splitlines(keepends=True)
    half = len(lines) // 2
    earlier = [line.replace("2024.", "2023.", 1) for line in lines[:half]]
    (tmp_path / "USDJPY_H1_2023.csv").write_text("".join(earlier))
    (tmp_path / "USDJPY_H1_2024.csv").write_text("".join(lines[half:]))
    (tmp_path / "USDJPY60.csv").write_text("".join(earlier + lines[half:]))
    runs = []
    for i, names in enumerate((["USDJPY_H1_2023.csv", "USDJPY_H1_2024.csv"], ["USDJPY60.csv"])):
        proc = hostapp(tmp_path, "replay", *names, "--json", "--report", f"report{i}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout))
    years, whole = runs
    assert years["symbols"] == ["USDJPY"] and years["trades"] > 0
    assert (years["trades"], years["end_balance"]) == (whole["trades"], whole["end_balance"])


def test_a_symbols_yearly_files_named_symbol_year_join_as_one_series(tmp_path: Path) -> None:
    """``XAUUSD_2023.csv XAUUSD_2024.csv`` (README: "a symbol's yearly files join as one
    series") were two symbols, ``XAUUSD_2023`` and ``XAUUSD_2024``, each replayed alone
    on rules guessed from its prices and warming its indicators up again; they are one
    series of that symbol, traded as one file of the same bars is."""
    lines = mt4_lines().splitlines(keepends=True)
    half = len(lines) // 2
    earlier = [line.replace("2024.", "2023.", 1) for line in lines[:half]]
    (tmp_path / "USDJPY_2023.csv").write_text("".join(earlier))
    (tmp_path / "USDJPY-2024.csv").write_text("".join(lines[half:]))
    (tmp_path / "USDJPY_data.csv").write_text("".join(earlier + lines[half:]))
    (tmp_path / "USDJPY60.csv").write_text("".join(earlier + lines[half:]))
    runs = []
    names: list[list[str]] = [["USDJPY_2023.csv", "USDJPY-2024.csv"], ["USDJPY_data.csv"]]
    for i, files in enumerate([*names, ["USDJPY60.csv"]]):
        proc = hostapp(tmp_path, "replay", *files, "--json", "--report", f"report{i}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout))
    years, data, whole = runs
    assert years["symbols"] == data["symbols"] == ["USDJPY"] and years["trades"] > 0
    assert (years["trades"], years["end_balance"]) == (whole["trades"], whole["end_balance"])
    assert (data["trades"], data["end_balance"]) == (whole["trades"], whole["end_balance"])
    assert any("USDJPY_data.csv as USDJPY" in n for n in data["host_notes"])


def test_a_stooq_stock_trades_a_share_a_lot_as_its_ticker(tmp_path: Path) -> None:
    """``aapl_us_d.csv`` was the symbol ``aapl_us_d``, whose lot was guessed from the
    price; it is AAPL, a stock's ticker: one share a lot, said in the notes."""
    rows = ["Date,Open,High,Low,Close,Volume"]
    for i in range(120):
        day = f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}"
        o = 180.0 + (i % 11) * 0.75
        rows.append(f"{day},{o},{o + 2.5},{o - 2.25},{o + 0.5},1000000")
    (tmp_path / "aapl_us_d.csv").write_text("\n".join(rows) + "\n")
    proc = hostapp(tmp_path, "replay", "aapl_us_d.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["symbols"] == ["AAPL"]
    notes = " ".join(summary["host_notes"])
    assert "aapl_us_d.csv as AAPL" in notes and "AAPL: 2 digits, a lot of 1 unit" in notes


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("NQ 03-24.Last.txt", "NQ 03-24.Last"),  # NinjaTrader's: the contract has a space
        ("my data.csv", "my data"),
        ("ЗОЛОТО.csv", "ЗОЛОТО"),
        (f"{'X' * 65}.csv", "X" * 65),
    ],
)
def test_a_name_that_gives_no_symbol_is_refused_as_symbol_is(name: str, symbol: str) -> None:
    """``--symbol "NQ 03-24"`` was refused "without spaces" while a file of that name was
    replayed as ``NQ 03-24.Last``: a symbol from a name follows ``--symbol``'s rule."""
    with pytest.raises(ConfigError) as refused:
        file_symbol(f"data/{name}")
    assert str(refused.value) == (
        f"data/{name}: the symbol its name gives, {symbol!r}, is not a symbol name of 1 to 64 "
        "printable ASCII characters without spaces (as brokers and the DTMS API take them): "
        "give the symbol with --symbol NAME, or rename the file"
    )


def test_the_replay_refuses_such_a_name_in_one_line_and_takes_symbol(tmp_path: Path) -> None:
    (tmp_path / "NQ 03-24.Last.txt").write_text(mt4_lines())
    proc = hostapp(tmp_path, "replay", "NQ 03-24.Last.txt", "--report", "refused")
    assert one_error_line(proc) == (
        "hostapp: NQ 03-24.Last.txt: the symbol its name gives, 'NQ 03-24.Last', is not a "
        "symbol name of 1 to 64 printable ASCII characters without spaces (as brokers and "
        "the DTMS API take them): give the symbol with --symbol NAME, or rename the file"
    )
    assert not (tmp_path / "refused").exists()
    proc = hostapp(tmp_path, "replay", "NQ 03-24.Last.txt", "--symbol", "NQH24", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["symbols"] == ["NQH24"]


def test_a_symbol_read_among_words_trades_on_its_rules_and_is_said(tmp_path: Path) -> None:
    """``FOREX_EURUSD_1H_ASK.csv`` was the symbol ``FOREX_EURUSD_1H_ASK``, whose lot,
    digits and spread were guessed from its prices; it is EURUSD, and the run says which
    name it took from which file."""
    (tmp_path / "FOREX_EURUSD_1H_ASK.csv").write_text(mt4_lines())
    proc = hostapp(tmp_path, "replay", "FOREX_EURUSD_1H_ASK.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["symbols"] == ["EURUSD"]
    notes = summary["host_notes"]
    assert not any("does not know" in n for n in notes)
    assert any("FOREX_EURUSD_1H_ASK.csv as EURUSD" in n for n in notes)
