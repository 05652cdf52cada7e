"""Connecting to the terminal, and refusing one that cannot trade.

Each check turns what would otherwise surface later as a puzzling retcode (10027 when
AutoTrading is off, 10017 on an investor login) into one clear message at start-up.
"""

from __future__ import annotations

import os
from typing import Any

from hookspecs import BrokerError

from .mt5_convert import as_dict, last_error
from .mt5_settings import Mt5Settings


def initialize(api: Any, settings: Mt5Settings) -> None:
    """``initialize([path], timeout=…)``; the path is positional, as the API wants it."""
    args = (settings.path,) if settings.path else ()
    if not api.initialize(*args, timeout=settings.timeout_ms):
        where = f" at {settings.path}" if settings.path else ""
        raise BrokerError(
            f"MetaTrader5 initialize failed: last_error={last_error(api)}; is the "
            f"MetaTrader 5 terminal{where} installed and running?"
        )


def login_and_check(api: Any, settings: Mt5Settings) -> None:
    if settings.login:
        _login(api, settings)
    _check_terminal(api)
    _check_account(api)


def _login(api: Any, s: Mt5Settings) -> None:
    kwargs: dict[str, Any] = {"timeout": s.timeout_ms}
    if s.server:
        kwargs["server"] = s.server
    password = os.environ.get(s.password_env, "")
    if password:
        kwargs["password"] = password
    if not api.login(s.login, **kwargs):
        hint = "" if password else f" (environment variable {s.password_env} is not set)"
        raise BrokerError(
            f"MetaTrader5 login to account {s.login} failed{hint}: last_error={last_error(api)}"
        )


def _check_terminal(api: Any) -> None:
    raw = api.terminal_info()
    if raw is None:
        raise BrokerError(f"terminal_info() failed: last_error={last_error(api)}")
    term = as_dict(raw)
    if not term.get("connected", True):
        raise BrokerError("the MetaTrader 5 terminal is not connected to its trade server")
    if not term["trade_allowed"]:
        raise BrokerError(
            "AutoTrading is disabled in the MetaTrader 5 terminal: press the "
            '"Algo Trading" button (or Tools > Options > Expert Advisors > Allow '
            "algorithmic trading); every order would fail with 10027 otherwise"
        )
    if term.get("tradeapi_disabled"):
        raise BrokerError(
            "the terminal forbids trading through the Python API: untick "
            '"Disable algorithmic trading via external Python API" in Tools > Options > '
            "Expert Advisors"
        )


def _check_account(api: Any) -> None:
    raw = api.account_info()
    if raw is None:
        raise BrokerError(f"account_info() failed: last_error={last_error(api)}")
    account = as_dict(raw)
    if not account.get("trade_allowed", True):
        raise BrokerError(
            f"trading is not allowed on account {account.get('login')} "
            "(logged in with the investor password?)"
        )
    if not account.get("trade_expert", True):
        raise BrokerError(
            f"the trade server forbids automated trading on account {account.get('login')}"
        )
