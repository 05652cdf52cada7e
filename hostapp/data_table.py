"""What can be said of ``[host] data`` and ``[host] symbols`` without reading a file:
``builtin`` for the bundled symbols only, or a table giving a CSV file to exactly the
symbols ``symbols`` names. :mod:`hostapp.data` checks it before reading the files, and
``hostapp plugins`` checks it as ``hostapp run`` would.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookspecs import ConfigError

from .config import HostConfig


def check_data_table(config: HostConfig) -> None:
    """What can be said of ``[host] data`` and ``[host] symbols`` without reading a file:
    ``builtin`` for bundled symbols only, or a table giving a CSV file to exactly the
    symbols ``symbols`` names. ``hostapp plugins`` checks this too, as ``hostapp run``
    would."""
    data = config.host.data
    if data == "builtin":
        _check_builtin_symbols(config)
        return
    if isinstance(data, str):
        raise ConfigError(
            f"{config.source} [host] key 'data': expected \"builtin\" or a table symbol = CSV path"
        )
    if not data:
        raise ConfigError(
            f"{config.source} [host] key 'data': the table is empty; name a CSV file per "
            f'symbol (data = {{XAUUSD = "xauusd.csv"}}) or use "builtin"'
        )
    _check_data_symbols(config, list(data))


def _check_builtin_symbols(config: HostConfig) -> None:
    """The builtin data has a series only for the symbols with a bundled profile: any
    other name (a typo such as ``XAUSD``) would backtest an invented series."""
    from .market.synthetic import SYMBOL_PROFILES

    unknown = [s for s in config.host.symbols if s not in SYMBOL_PROFILES]
    if unknown:
        names = ", ".join(repr(s) for s in unknown)
        raise ConfigError(
            f"{config.source} [host] key 'symbols': no builtin data for {names} "
            f"(builtin symbols: {', '.join(SYMBOL_PROFILES)}); "
            "for another symbol, give its CSV file in [host] data"
        )


def _check_data_symbols(config: HostConfig, data: Sequence[str]) -> None:
    """With ``[host] symbols`` written, the ``[host] data`` table gives bars to exactly
    those symbols. The run trades the table's symbols, so one that ``symbols`` names and
    the table leaves out would not trade, and one the table adds would trade unasked,
    each without a word. A file without ``symbols`` lets the table decide."""
    if not config.symbols_named:
        return
    symbols = config.host.symbols
    missing = [s for s in symbols if s not in data]
    if missing:
        raise ConfigError(
            f"{config.source} [host] key 'data': no CSV file for {_names(missing)}, which "
            f'[host] symbols names (add {missing[0]} = "….csv" to data, or take it out of '
            "symbols)"
        )
    extra = [s for s in data if s not in symbols]
    if extra:
        raise ConfigError(
            f"{config.source} [host] key 'data': a CSV file for {_names(extra)}, which "
            "[host] symbols does not name (add it to symbols, or take it out of data)"
        )


def _names(symbols: Sequence[str]) -> str:
    return ", ".join(repr(s) for s in symbols)
