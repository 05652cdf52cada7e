"""The ``[host.paper.symbols.NAME]`` tables: a symbol's real trading rules, told by the
user, for a symbol the paper broker does not know (or knows otherwise).

Why: the paper broker guesses the rules of a symbol it does not know from its prices
(:func:`hostapp.symbol_rules.symbol_infos`), and P&L, drawdown and risk sizing are only as
good as that guess. A table gives some keys or all; the rest come from the paper broker's
own rules of the symbol, else from the guess.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookspecs import ConfigError, SymbolInfo, parse_settings

from .paper_ledger import profit_currency
from .paper_rules import check_currency

#: the largest number of digits a table may give, as many as a guess may reach
MAX_DIGITS = 10
#: how messages name the tables
TABLE = "[host.paper.symbols.NAME]"


@dataclass(frozen=True)
class SymbolRules:
    """One ``[host.paper.symbols.NAME]`` table; a key left out is ``None`` (not given).

    Only what the paper broker uses: the fields of :class:`hookspecs.SymbolInfo` but the
    point (always ``10 ** -digits`` here, as on the bundled symbols) and the name, plus
    the spread of a bar that carries none, and the currency its profits are in
    (``profit_currency``), which the name of a pair or a bundled symbol says but an
    index's or a stock's does not: told, it is converted into the account's as a pair's
    quote currency is (:mod:`.paper_ledger`); untold, counted as the account's, which the
    run's notes say."""

    digits: int | None = None
    contract_size: float | None = None
    volume_min: float | None = None
    volume_step: float | None = None
    volume_max: float | None = None
    stops_level: float | None = None
    freeze_level: float | None = None
    spread: float | None = None
    profit_currency: str | None = None

    def __post_init__(self) -> None:
        # parse_settings puts the file and the table before these messages
        if self.profit_currency is not None:
            told = check_currency(self.profit_currency, "profit_currency")
            object.__setattr__(self, "profit_currency", told)
        if self.digits is not None and not 0 <= self.digits <= MAX_DIGITS:
            raise ValueError(
                f"key 'digits': expected an integer from 0 to {MAX_DIGITS}, got {self.digits}"
            )
        for key in ("contract_size", "volume_min", "volume_step", "volume_max"):
            _check(key, getattr(self, key), positive=True)
        for key in ("stops_level", "freeze_level", "spread"):
            _check(key, getattr(self, key), positive=False)
        if (
            self.volume_min is not None
            and self.volume_max is not None
            and self.volume_min > self.volume_max
        ):
            raise ValueError(
                f"key 'volume_min': {self.volume_min:g} is above volume_max {self.volume_max:g}"
            )

    def given(self) -> list[str]:
        """The keys this table gives."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]


def _check(key: str, value: float | None, *, positive: bool) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        want = "> 0" if positive else "≥ 0 (in price)"
        raise ValueError(f"key {key!r}: expected a number {want}, got {value}")


@dataclass(frozen=True)
class PaperSymbols:
    """Every ``[host.paper.symbols.NAME]`` table of one file; ``where`` names the file."""

    where: str = "plugins.toml"
    rules: Mapping[str, SymbolRules] = dataclasses.field(default_factory=dict)

    def table(self, symbol: str) -> str:
        """How messages name ``symbol``'s table."""
        return f"{self.where} [host.paper.symbols.{symbol}]"

    def spreads(self) -> dict[str, float]:
        """The spreads the tables give, for bars without one."""
        return {s: r.spread for s, r in self.rules.items() if r.spread is not None}

    def apply(self, info: SymbolInfo) -> SymbolInfo:
        """``info`` with what ``info.name``'s table gives; a ConfigError naming the table
        when the result breaks a rule (a table's ``volume_min`` above the guessed
        ``volume_max``, which it does not give)."""
        rules = self.rules.get(info.name)
        if rules is None:
            return info
        changes: dict[str, Any] = {
            k: getattr(rules, k) for k in rules.given() if k not in _NOT_SYMBOL_INFO
        }
        if rules.digits is not None:
            changes["point"] = 10.0**-rules.digits
        out = dataclasses.replace(info, **changes)
        if out.volume_min > out.volume_max:
            raise ConfigError(
                f"{self.table(info.name)}: key 'volume_min': {out.volume_min:g} is above "
                f"the volume_max {out.volume_max:g} it leaves to the paper broker (give "
                "volume_max too)"
            )
        return out


#: the keys of a table that are no field of :class:`hookspecs.SymbolInfo`: the broker
#: keeps them apart (the spreads, :meth:`PaperSymbols.spreads`; the profit currency,
#: :meth:`~.paper_ledger.PaperLedger.told_currency`)
_NOT_SYMBOL_INFO = ("spread", "profit_currency")


def _check_type(key: str, value: Any, where: str) -> None:
    """The type of one key, said as the key wants it (parse_settings would say ``int |
    None``, the None being no TOML value)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    said = str(value).lower() if isinstance(value, bool) else repr(value)  # as TOML has it
    if key == "profit_currency":
        if not isinstance(value, str):
            raise ConfigError(
                f"{where}: key 'profit_currency': expected a currency's three letters "
                f'("JPY"), got {said}'
            )
        return
    if key == "digits" and not (is_number and isinstance(value, int)):
        raise ConfigError(
            f"{where}: key 'digits': expected an integer from 0 to {MAX_DIGITS}, got {said}"
        )
    if not is_number:
        raise ConfigError(f"{where}: key {key!r}: expected a number, got {said}")


def parse_paper_symbols(table: Any, where: str) -> PaperSymbols:
    """The ``symbols`` key of ``[host.paper]`` (``table``), checked: a table of tables, one
    per symbol, each with known keys of the right types and ranges. ``where`` is the file;
    every message names it, the symbol's table and the key."""
    if table is None:
        return PaperSymbols(where)
    if not isinstance(table, dict):
        raise ConfigError(
            f"{where} [host.paper]: key 'symbols': expected a table of {TABLE} tables, "
            f"got {table!r}"
        )
    rules: dict[str, SymbolRules] = {}
    for name, value in table.items():
        at = f"{where} [host.paper.symbols.{name}]"
        if not name.strip():
            raise ConfigError(f"{where} [host.paper.symbols]: a symbol's name is empty")
        if not isinstance(value, dict):
            raise ConfigError(f"{at}: expected a table of the symbol's rules, got {value!r}")
        known = [f.name for f in dataclasses.fields(SymbolRules)]
        for key in value:
            if key not in known:  # parse_settings lets a plugin's host keys through
                raise ConfigError(f"{at}: unknown key {key!r} (known keys: {', '.join(known)})")
            _check_type(key, value[key], at)
        rules[name] = parse_settings(SymbolRules, value, at)
        _check_told(name, rules[name].profit_currency, at)
    return PaperSymbols(where, rules)


def _check_told(name: str, told: str | None, at: str) -> None:
    """A ``profit_currency`` that its symbol's name contradicts (a pair's second
    currency, a bundled symbol's) is refused: the name's is the one the paper broker
    books in, and a table saying another would be silently overruled."""
    named = profit_currency(name)
    if told is not None and named is not None and told != named:
        raise ConfigError(
            f"{at}: key 'profit_currency': {name}'s profits are in {named}, as its name "
            f"says, not {told} (leave the key out)"
        )
