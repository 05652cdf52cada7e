"""The server beside a paper host: both open one account file; the server sees the host's
positions, quotes and bars (from the file), and its clock follows the host's replay time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.counting import CountingBars

from hookspecs import Bar, ConfigError, OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.config import config_from_dict
from hostapp.data import config_series
from hostapp.runtime import build_runtime


def _config(tmp_path: Path, **paper: Any) -> Any:
    return config_from_dict(
        {
            "host": {"broker": "paper", "symbols": ["XAUUSD", "EURUSD"], "paper": paper},
            "plugin": {"dtms": {"state_dir": str(tmp_path / "state")}},
        }
    )


def test_the_server_shares_account_quotes_time_and_bars_with_the_host(tmp_path: Path) -> None:
    account = str(tmp_path / "account.db")
    config = _config(tmp_path, account_file=account)
    runtime = build_runtime(config, seed=3, days=2)
    host = PaperBroker(settings=PaperSettings(account_file=account))
    try:
        series, base = config_series(config, days=2, seed=3)
        assert base == "M5"
        for i in range(60):
            for symbol in ("XAUUSD", "EURUSD"):
                host.on_bar(symbol, series[symbol][i])
        expected_now = series["XAUUSD"][59].time + timedelta(minutes=5)
        assert runtime.clock.now() == expected_now
        assert list(runtime.market.bars("XAUUSD", "M5", 10)) == series["XAUUSD"][50:60]
        m15 = runtime.market.bars("XAUUSD", "M15", 100)
        assert len(m15) == 20
        assert m15[-1].close == series["XAUUSD"][59].close

        opened = host.open(OrderRequest("XAUUSD", "buy", 0.5))
        assert opened.ok and opened.new_ticket is not None
        seen = runtime.broker.position(opened.new_ticket)
        assert seen is not None and seen.volume == 0.5
        assert runtime.broker.close(opened.new_ticket, 0.2).ok  # the server acts...
        after = host.position(opened.new_ticket)  # ...on the host's account
        assert after is not None and after.volume == pytest.approx(0.3)
    finally:
        host.release()
        assert runtime.close is not None
        runtime.close()


def test_a_new_host_run_on_the_same_file_restarts_the_server_replay(tmp_path: Path) -> None:
    account = str(tmp_path / "account.db")
    config = _config(tmp_path, account_file=account)
    runtime = build_runtime(config, days=1)
    host = PaperBroker(settings=PaperSettings(account_file=account))
    try:
        series, _ = config_series(config, days=1, seed=0)
        host.on_bar("XAUUSD", series["XAUUSD"][30])
        runtime.clock.now()
        host.on_bar("XAUUSD", series["XAUUSD"][5])  # time goes back
        host.on_bar("EURUSD", series["EURUSD"][5])
        assert runtime.clock.now() == series["XAUUSD"][5].time + timedelta(minutes=5)
        # the bars are the new run's, from the file: only what it fed so far
        assert list(runtime.market.bars("XAUUSD", "M5", 100)) == [series["XAUUSD"][5]]
    finally:
        host.release()
        assert runtime.close is not None
        runtime.close()


def test_the_clock_reads_a_late_account_time_without_replaying_the_series_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server started beside a trading host far into its run: its first clock reading
    (its engine's start, before it answers anything) must not rebuild the series up to
    that time, seconds of bars over a long run. A symbol the file has bars of never reads
    the series; one it has none of reads it when its bars are asked for."""
    import hostapp.data

    streamed: dict[str, CountingBars] = {}
    real = hostapp.data.streamed_config_series

    def counted(*args: Any, **kwargs: Any) -> tuple[dict[str, Iterable[Bar]], str]:
        series, base = real(*args, **kwargs)
        streamed.update({s: CountingBars(bars) for s, bars in series.items()})
        return dict(streamed), base

    account = str(tmp_path / "account.db")
    config = _config(tmp_path, account_file=account)
    series, _ = config_series(config, days=2, seed=0)
    monkeypatch.setattr(hostapp.data, "streamed_config_series", counted)
    runtime = build_runtime(config, days=2)
    host = PaperBroker(settings=PaperSettings(account_file=account))
    try:
        late = series["XAUUSD"][500]
        host.on_bar("XAUUSD", late)  # only XAUUSD: EURUSD's bars are the series'
        now = late.time + timedelta(minutes=5)
        assert runtime.clock.now() == now
        assert list(runtime.market.bars("XAUUSD", "M5", 5)) == [late]  # the file's
        assert [s.read for s in streamed.values()] == [1, 1]  # the first bar's time only
        closed = [b for b in series["EURUSD"] if b.time + timedelta(minutes=5) <= now]
        assert list(runtime.market.bars("EURUSD", "M5", 3)) == closed[-3:]
        assert streamed["EURUSD"].read > 500
    finally:
        host.release()
        assert runtime.close is not None
        runtime.close()


def test_before_the_host_quotes_nothing_has_closed(tmp_path: Path) -> None:
    config = _config(tmp_path, account_file=str(tmp_path / "account.db"))
    runtime = build_runtime(config, days=1)
    try:
        assert list(runtime.market.bars("XAUUSD", "M5", 10)) == []
        assert list(runtime.market.bars("GBPUSD", "M5", 10)) == []  # not configured: none
    finally:
        assert runtime.close is not None
        runtime.close()


def test_paper_with_an_empty_account_file_is_a_config_error(tmp_path: Path) -> None:
    """Left out, the key means a live host's default file; empty, no file at all."""
    with pytest.raises(ConfigError, match=r"\[host.paper\]: key 'account_file' is required"):
        build_runtime(_config(tmp_path, account_file=""))


def test_the_servers_clock_and_bars_answer_two_threads_at_once(tmp_path: Path) -> None:
    """A serving host asks from its web handlers and its engine thread at once; the
    streamed feed behind the clock must never be read by both at the same moment (a
    'generator already executing' killed the DTMS server's monitoring loop)."""
    import sys
    import threading

    from hostapp.app import streamed_config_series
    from hostapp.runtime import SharedPaperMarket

    account = str(tmp_path / "account.db")
    config = _config(tmp_path, account_file=account)
    host = PaperBroker(settings=PaperSettings(account_file=account))
    streamed, base = streamed_config_series(config, days=30, seed=1)
    market = SharedPaperMarket(host, streamed, base)
    series, _ = config_series(config, days=30, seed=1)
    errors: list[BaseException] = []
    done = threading.Event()

    def ask() -> None:
        try:
            while not done.is_set():
                market.now()
                market.bars("XAUUSD", "M15", 50)
        except BaseException as exc:  # what the test is about
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    threads = [threading.Thread(target=ask) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for i in range(0, 3000, 3):  # the trading host moves the shared time on
            host.on_bar("XAUUSD", series["XAUUSD"][i])
        done.set()
        for t in threads:
            t.join()
        assert errors == []
        assert market.now() == series["XAUUSD"][2997].time + timedelta(minutes=5)
        assert list(market.bars("XAUUSD", "M5", 1)) == [series["XAUUSD"][2997]]
    finally:
        done.set()
        sys.setswitchinterval(old)
        host.release()


def test_a_server_on_other_data_than_the_file_was_traded_on_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file keeps the data its host traded on (hostapp.account_data): a server whose
    ``--seed`` differs rebuilds other prices for a symbol the file has no bars of yet."""
    from hostapp.account_data import data_record, write_record

    account = str(tmp_path / "account.db")
    config = _config(tmp_path, account_file=account)
    host = PaperBroker(settings=PaperSettings(account_file=account))
    try:
        series, base = config_series(config, days=1, seed=5)
        write_record(account, data_record(config, series, base, 5))
        for seed, warned in ((5, False), (0, True)):
            caplog.clear()
            runtime = build_runtime(config, seed=seed, days=1)
            assert runtime.close is not None
            runtime.close()
            said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
            told = [m for m in said if "was traded on" in m]
            assert bool(told) == warned, said
        assert told == [
            f"plugins.toml [host.paper] account_file {account} was traded on the built-in "
            "feed with seed 5 (M5 bars); this run asks seed 0: give --seed 5 (its bars come "
            "from the file, but those of a symbol it has none of yet would come from this "
            "server's data)"
        ]
    finally:
        host.release()
