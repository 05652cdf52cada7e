"""Settings, lazy import, connection checks, server time offset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeMT5, FakeSymbol, mt5linux_module

from hookspecs import BrokerError, ConfigError
from hostapp.brokers.mt5 import Mt5Settings, create_mt5_broker, load_mt5_settings
from hostapp.brokers.mt5_settings import import_api

#: the checkout these tests run from, which the install hints name
ROOT = Path(__file__).resolve().parents[2]


def test_settings_parse_with_types_checked() -> None:
    s = load_mt5_settings(
        {"module": "mt5linux", "login": 123, "server": "Broker-Demo", "port": 8001,
         "magic": 9, "deviation": 5, "time_symbols": ["XAUUSD"]}
    )  # fmt: skip
    assert (s.module, s.login, s.port, s.time_symbols) == ("mt5linux", 123, 8001, ("XAUUSD",))
    with pytest.raises(ConfigError, match="'module'"):
        load_mt5_settings({"module": "mt4"})
    with pytest.raises(ConfigError, match="deviation"):
        load_mt5_settings({"deviation": -1})
    assert load_mt5_settings({"max_attempts": 10}).max_attempts == 10
    for attempts in (0, 11, 3000):  # the doubling wait before the 20th try is 36 hours
        with pytest.raises(ConfigError, match=r"max_attempts: expected 1\.\.10 .* got"):
            load_mt5_settings({"max_attempts": attempts})


def test_password_in_the_file_is_refused_pointing_to_password_env() -> None:
    with pytest.raises(ConfigError, match="password_env"):
        load_mt5_settings({"login": 1, "password": "hunter2"})


def test_module_is_imported_only_when_used() -> None:
    assert "MetaTrader5" not in sys.modules  # importing hostapp.brokers.mt5 did not import it
    with pytest.raises(BrokerError) as info:
        import_api(Mt5Settings())
    assert str(info.value) == (
        f'MetaTrader5 is not installed: pip install -e "{ROOT}[mt5]" (Windows only) '
        'or use module = "mt5linux"'
    )
    with pytest.raises(BrokerError) as info:
        import_api(Mt5Settings(module="mt5linux"))
    assert str(info.value) == f'mt5linux is not installed: pip install -e "{ROOT}[mt5linux]"'


def test_mt5linux_client_is_built_with_host_and_port() -> None:
    fake = make_fake()
    settings = Mt5Settings(module="mt5linux", host="wine-box", port=8001, time_symbols=("XAUUSD",))
    broker = create_mt5_broker(
        settings, module=mt5linux_module(fake), clock=lambda: fake.now, sleep=fake.advance
    )
    assert fake.calls[:2] == ["connect wine-box:8001", "initialize"]
    assert broker.margin_mode == "hedging"


def test_initialize_login_with_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_fake(password="s3cret")
    monkeypatch.setenv("MY_MT5_PW", "s3cret")
    connect(fake, login=4242, server="Fake-Demo", password_env="MY_MT5_PW", path="C:\\mt5.exe")
    assert fake.login_id == 4242 and fake.initialized


def test_login_failure_is_clear_and_shuts_down(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_fake(password="s3cret")
    monkeypatch.delenv("MT5_PASSWORD", raising=False)
    with pytest.raises(BrokerError, match=r"MT5_PASSWORD is not set.*Authorization failed"):
        connect(fake, login=4242)
    assert fake.calls[-1] == "shutdown" and not fake.initialized


def test_terminal_not_running() -> None:
    with pytest.raises(BrokerError, match=r"initialize failed.*not found"):
        connect(make_fake(terminal_running=False))


def test_autotrading_off_is_a_clear_error_at_connect() -> None:
    fake = make_fake(trade_allowed=False)
    with pytest.raises(BrokerError, match="AutoTrading is disabled"):
        connect(fake, time_symbols=("XAUUSD",))
    assert not fake.initialized


@pytest.mark.parametrize(("mode", "expected"), [(2, "hedging"), (0, "netting"), (1, "netting")])
def test_margin_mode_read(mode: int, expected: str) -> None:
    broker = connect(make_fake(margin_mode=mode), time_symbols=("XAUUSD",))
    assert broker.margin_mode == expected and broker.account().margin_mode == expected


def test_close_connection_shuts_down_once(fake: FakeMT5) -> None:
    broker = connect(fake, time_symbols=("XAUUSD",))
    broker.close_connection()
    broker.close_connection()
    assert fake.calls.count("shutdown") == 1


@pytest.mark.parametrize(("offset", "age"), [(7200, 0), (10800, 240), (0, 60), (-18000, 600)])
def test_server_offset_dated_from_a_tick_seen_to_arrive(offset: int, age: int) -> None:
    fake = make_fake(server_offset=offset)
    fake.symbols["XAUUSD"].tick_age = age  # the last tick is old, but a new one arrives
    broker = connect(fake, time_symbols=("XAUUSD",))
    assert broker.server_clock.offset_seconds == offset
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1990.0)
    assert broker.position(ticket).opened_at == fake.now  # type: ignore[union-attr]
    quote = broker.quote("XAUUSD")
    assert quote is not None and quote.time == fake.now


def test_offset_from_market_watch_when_no_symbols_given(fake: FakeMT5) -> None:
    fake.symbols["XAUUSD"].tick_age, fake.symbols["XAUUSD"].live = 3 * 86400, False
    assert connect(fake).server_clock.offset_seconds == 7200  # EURUSD ticks


def test_closed_market_offset_refused_unless_configured(fake: FakeMT5) -> None:
    fake.symbols["XAUUSD"].tick_age, fake.symbols["XAUUSD"].live = 2 * 86400, False
    with pytest.raises(BrokerError, match="server_utc_offset_minutes"):
        connect(fake, time_symbols=("XAUUSD",))
    broker = connect(fake, server_utc_offset_minutes=120)
    assert broker.server_clock.offset_seconds == 7200


def test_not_an_api_object() -> None:
    with pytest.raises(BrokerError, match="TRADE_ACTION_DEAL"):
        create_mt5_broker(Mt5Settings(), module=object())


def test_a_login_that_raises_is_a_broker_error_and_shuts_down() -> None:
    fake = make_fake(login_error=TimeoutError("result expired"))
    with pytest.raises(BrokerError, match="TimeoutError: result expired"):
        connect(fake, login=4242, time_symbols=("XAUUSD",))
    assert fake.calls[-1] == "shutdown" and not fake.initialized


def test_mt5linux_call_timeout_outlasts_timeout_ms() -> None:
    fake = make_fake()
    settings = Mt5Settings(module="mt5linux", timeout_ms=60_000, time_symbols=("XAUUSD",))
    broker = create_mt5_broker(settings, module=mt5linux_module(fake), clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    config = broker.api._MetaTrader5__conn._config
    assert config["sync_request_timeout"] >= 60 + 5


def test_a_symbol_the_server_lacks_is_refused_at_connect_with_its_suffixed_names() -> None:
    """``[host] symbols = ["XAUUSD", "GBPUSD"]`` on a server that spells gold ``XAUUSDm``
    and has no GBPUSD: one error at connect naming both (a missing symbol would otherwise
    fail every cycle's bars and leave every position undefended)."""
    fake = FakeMT5()
    fake.add_symbol(FakeSymbol("XAUUSDm", bid=2000.00, ask=2000.30, digits=2))
    fake.add_symbol(FakeSymbol("EURUSD", bid=1.085, ask=1.08512, digits=5))
    with pytest.raises(BrokerError) as info:
        create_mt5_broker(
            Mt5Settings(server_utc_offset_minutes=120), module=fake, symbols=("XAUUSD", "GBPUSD"),
            clock=lambda: fake.now, sleep=fake.advance,
        )  # fmt: skip
    assert str(info.value) == (
        "[host] symbols: not on this trade server: XAUUSD (the server has XAUUSDm); GBPUSD; "
        "name them as the terminal's Market Watch does"
    )
    assert fake.calls[-1] == "shutdown" and not fake.initialized
    broker = create_mt5_broker(
        Mt5Settings(server_utc_offset_minutes=120), module=fake, symbols=("XAUUSDm", "EURUSD"),
        clock=lambda: fake.now, sleep=fake.advance,
    )  # fmt: skip
    assert broker.symbol_info("XAUUSDm") is not None


@pytest.mark.parametrize("margin_mode", [0, 2])
def test_someone_elses_position_on_a_netting_symbol_is_said_at_start(
    margin_mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    """On a netting account every order on XAUUSD changes the position a trader opened
    there by hand: said once at start-up (not on a hedging account, nor for a symbol the
    host does not trade, nor for its own magic's position)."""
    fake = make_fake(margin_mode=margin_mode)
    by_hand = fake.add_position("XAUUSD", 0, 0.5, 1990.0, magic=0)
    fake.add_position("EURUSD", 1, 1.0, 1.08, magic=777)  # the host's own
    fake.add_symbol(FakeSymbol("GBPUSD", bid=1.27, ask=1.2701, digits=5))
    fake.add_position("GBPUSD", 0, 1.0, 1.27, magic=5)  # not traded by the host
    settings = Mt5Settings(magic=777, server_utc_offset_minutes=120)
    broker = create_mt5_broker(
        settings, module=fake, symbols=("XAUUSD", "EURUSD"), clock=lambda: fake.now,
        sleep=fake.advance,
    )  # fmt: skip
    said = [r.getMessage() for r in caplog.records if "netting account" in r.getMessage()]
    if margin_mode == 2:
        assert said == [] and broker.run_notes == []
        return
    assert said == [
        "this netting account already holds a position not opened with magic 777 on a "
        f"symbol hostapp trades: XAUUSD {by_hand} buy 0.5 (magic 0); each symbol holds one "
        "position, so every order hostapp sends there adds to, reduces, closes or reverses it"
    ]
    assert broker.run_notes == [f"at start-up {said[0]}"]
