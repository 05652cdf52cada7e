"""The MetaTrader 5 broker: :class:`hookspecs.Broker` over any object with the MetaTrader5
API — the Windows package, or an ``mt5linux.MetaTrader5(host, port)`` client.

Only plain Python values cross into the API (mt5linux sends arguments as their ``repr``)
and results are converted at the boundary (:mod:`.mt5_convert`). Order calls return an
:class:`~hookspecs.ActionResult` and never raise on a refusal; queries raise
:class:`~hookspecs.BrokerError` when the terminal cannot answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from hookspecs import (
    AccountInfo,
    BrokerError,
    Direction,
    MarginMode,
    Quote,
    SymbolInfo,
)

from ..errors import AccountChanged
from .mt5_account_guard import AccountGuard
from .mt5_clock import ClockWatch, implausible_offset, offset_differs, probe, tick_msc
from .mt5_connect import initialize, login_and_check
from .mt5_convert import (
    ServerClock,
    account_from,
    as_dict,
    error_code,
    last_error,
    quote_from_tick,
    symbol_info_from,
)
from .mt5_link import AlgoTradingWatch, TradeServerWatch
from .mt5_market import Mt5Market
from .mt5_netting import shared_positions
from .mt5_orders import OrderSender
from .mt5_retcodes import link_lost
from .mt5_rules import Constants
from .mt5_settings import Mt5Settings, close_rpyc, import_api, load_mt5_settings
from .mt5_symbol_names import check_on_server
from .mt5_trading import Raw, Trading

__all__ = ["Mt5Broker", "Mt5Market", "Mt5Settings", "create_mt5_broker", "load_mt5_settings"]


log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Mt5Broker(AccountGuard, Trading):
    """``clock`` returns the UTC wall clock (used to detect the server's time offset);
    ``sleep`` is the backoff between retries and the wait while an unknown outcome is
    looked for. Both are injectable so tests never wait."""

    def __init__(
        self,
        api: Any,
        settings: Mt5Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        #: builds a new client over a new connection (mt5linux: rpyc never reopens a
        #: closed one); ``None`` when the API is the package itself
        self._reopen = reopen
        self.settings = settings
        self.c = Constants.from_api(api)
        self._now = clock or _utc_now
        self._sleep = sleep
        minutes = settings.server_utc_offset_minutes
        zone = settings.server_zone
        self._fixed_offset = minutes is not None or zone is not None
        self._clock = ServerClock(minutes * 60 if minutes is not None else 0, zone)
        self._watch = ClockWatch()
        self._offset_said = False  # a configured offset a tick proved wrong was said
        self._time_names: list[str] = []
        self.sender = OrderSender(api, settings, self.c, sleep, self._server_now)
        self.sender.on_tick = self._observe
        self._margin_mode: MarginMode | None = None
        self._initialized = False
        self._trade_server = TradeServerWatch(self._now)
        self._algo_trading = AlgoTradingWatch(self._now)
        self.sender.on_autotrading_off = self._refused_10027
        self.sender.on_went_through = self._algo_trading.went_through
        self.sender.before_send = self._not_our_account
        self._start_notes: list[str] = []  # what start-up found, for the summary
        #: the account the run started on (``<server> <login>``), which every cycle and
        #: reconnect must find again (docs/mt5.md, "Another account mid-run")
        self.identity = ""
        self._renamed_to = ""  # the account's name since its server was renamed, once said

    @property
    def server_clock(self) -> ServerClock:
        """The server's UTC offset. Unless it is configured, it is re-dated from fresh
        ticks: every tick read feeds it, and once ``offset_recheck_minutes`` have passed
        without a fresh one, each use reads the time symbols' ticks again."""
        if not self._fixed_offset and self._initialized and self._recheck_due():
            for name in self._time_names[:10]:
                self.sender.tick(name)
        return self._clock

    def _recheck_due(self) -> bool:
        sampled = self._watch.sampled_at
        limit = self.settings.offset_recheck_minutes * 60
        return sampled is None or (self._now() - sampled).total_seconds() > limit

    def _observe(self, symbol: str, tick: Raw) -> None:
        now = self._now()
        offset = self._watch.observe(symbol, tick, now)
        if self._fixed_offset:  # used as it is; a tick that proves it wrong is said, once
            configured, zone = self._clock.offset_at(now), self.settings.server_timezone
            said = implausible_offset(symbol, tick_msc(tick), configured, now, zone)
            if said is None and offset is not None and offset != configured:
                said = offset_differs(configured, offset, zone)
            if said is not None and not self._offset_said:
                self._offset_said = True
                log.warning("%s", said)
            return
        if offset is None or offset == self._clock.offset_seconds:
            return
        if self._time_names:  # not during the start-up probe: a change while running
            log.warning(
                "trade server UTC offset changed from %+d to %+d minutes (DST?)",
                self._clock.offset_seconds // 60,
                offset // 60,
            )
        self._clock = ServerClock(offset)

    def _server_now(self) -> int:
        """The trade server's wall clock now, in its own epoch seconds."""
        now = self._now()
        return int(now.timestamp()) + self.server_clock.offset_at(now)

    @property
    def magic(self) -> int:
        """:class:`hookspecs.OwnMagic`: ``[host.mt5] magic``, which the host's orders carry,
        so a plugin tells the host's positions from those opened by hand (magic 0)."""
        return self.settings.magic

    @property
    def needs_attention(self) -> list[str]:
        """Operations whose outcome stayed unknown: check them in the terminal. Each is
        listed once, with how many times it was asked when it was more than once (a
        plugin asks again every cycle while the position stays open), and what the
        server's history shows of it since when its deals landed late (read now)."""
        out = []
        for label, times in self.sender.unresolved.items():
            landed = self.sender.landed(label)
            asked = f" ({times} times)" if times > 1 else ""
            out.append(f"{label}{asked}{': ' + landed if landed else ''}")
        return out

    @property
    def run_notes(self) -> list[str]:
        """For the run's summary: someone else's positions on a netting account at
        start-up, the times the terminal lost its trade server or had its Algo Trading
        off, and the positions the broker stopped out."""
        return [
            *self._start_notes,
            *self._trade_server.notes,
            *self._algo_trading.notes,
            *self._stop_out_notes(),
        ]

    def _stop_out_notes(self) -> list[str]:
        n = len(self._stopped_out)
        if not n:
            return []
        shown = ", ".join(list(self._stopped_out.values())[:10]) + (", ..." if n > 10 else "")
        return [
            f"the broker stopped out {n} position{'s' if n > 1 else ''} (margin stop-out, "
            f"DEAL_REASON_SO): {shown}; the plugins were not told it was a stop-out "
            "(hookspecs' close reasons have none): they heard the reason of the loop's "
            "phase that found the position gone, 'external' unless a plugin's action went "
            "through in that phase (the closes by reason count it the same way)"
        ]

    # -- connection ---------------------------------------------------------------------

    def watch_connection(self) -> None:
        """Once a live cycle: is the terminal still connected to its trade server, is its
        Algo Trading on? One ``terminal_info()`` call; an outage is said when it starts
        and when it ends. A lost IPC link is a BrokerError, as any read's (the cycle is
        skipped)."""
        raw = self.api.terminal_info()
        if raw is None:
            if link_lost(error_code(self.api)):
                raise BrokerError(f"terminal_info() failed: last_error={last_error(self.api)}")
            return  # the terminal answered, not this: the next cycle asks again
        term = as_dict(raw)
        self._trade_server.observe(bool(term.get("connected", True)))
        self._algo_trading.observe(bool(term.get("trade_allowed", True)))
        self._same_account()

    def _refused_10027(self) -> str:
        """An order refused with 10027 (or -8): the Algo Trading watch hears it with the
        button as the terminal shows it now, for words that are true of the cause."""
        raw = self.api.terminal_info()
        button = None if raw is None else bool(as_dict(raw).get("trade_allowed", True))
        return self._algo_trading.refused(button)

    def connect(self, symbols: Sequence[str] = ()) -> None:
        """initialize, login, refuse a terminal that cannot trade, read the margin mode and
        detect the server's UTC offset. Any failure shuts the connection down again and
        is a :class:`~hookspecs.BrokerError`, whatever the API raised (an mt5linux call
        that times out raises rpyc's own exception)."""
        try:
            self._initialized = True
            initialize(self.api, self.settings)
            login_and_check(self.api, self.settings)
            account = self.account()
            self._margin_mode, self.identity = account.margin_mode, account.identity
            self._check_symbols(symbols)
            self._warn_shared(symbols)
            if not self._fixed_offset:
                self.refresh_server_offset(symbols)
            else:  # not dated, but a tick read now can show it wrong (_observe)
                for name in list(self.settings.time_symbols or symbols)[:10]:
                    self.sender.tick(name)
        except BrokerError:
            self.close_connection()
            raise
        except Exception as exc:
            self.close_connection()
            raise BrokerError(
                f"connecting to MetaTrader 5 failed: {type(exc).__name__}: {exc}"
            ) from exc
        except BaseException:
            self.close_connection()
            raise

    def reconnect(self) -> None:
        """After the terminal went away (restarted, its IPC link or the mt5linux bridge
        lost): drop what is left of the connection, then initialize and log in again,
        keeping the server's clock offset. A BrokerError while it is still away; an
        AccountChanged when it came back on another account. An mt5linux client whose rpyc
        connection closed raises (EOFError) on every call for good: when a call raises
        rather than answers, a new client is built (docs/mt5.md, "When the terminal goes
        away mid-run")."""
        self._shut_down_quietly()
        try:
            try:
                self._log_in_again()
            except (BrokerError, AccountChanged):
                raise
            except Exception:
                if self._reopen is None:
                    raise
                self._shut_down_quietly()
                self._use(self._reopen())
                self._log_in_again()
        except AccountChanged:
            raise  # connected, on the other account: the run stops and shuts it down
        except BrokerError:
            self._shut_down_quietly()
            raise
        except Exception as exc:
            self._shut_down_quietly()
            raise BrokerError(f"reconnecting failed: {type(exc).__name__}: {exc}") from exc

    def _log_in_again(self) -> None:
        self._initialized = True
        initialize(self.api, self.settings)
        login_and_check(self.api, self.settings)
        self._same_account()

    def _use(self, api: Any) -> None:
        """Every call goes to ``api`` from now on; the old client's connection is closed."""
        if api is not self.api:
            close_rpyc(self.api)
        self.api = self.sender.api = api

    def _shut_down_quietly(self) -> None:
        """:meth:`close_connection`; what a lost transport raises then is no news."""
        try:
            self.close_connection()
        except Exception as exc:
            log.debug("shutdown() on a lost connection raised %s: %s", type(exc).__name__, exc)

    def _check_symbols(self, symbols: Sequence[str]) -> None:
        """Every symbol the host is to trade must be on the trade server
        (:func:`.mt5_symbol_names.check_on_server`)."""
        check_on_server(self.api, symbols)

    def _warn_shared(self, symbols: Sequence[str]) -> None:
        """A netting account whose traded symbols already hold someone else's position:
        said once, at start-up, and in the run's notes (docs/mt5.md, "Netting accounts")."""
        if self._margin_mode != "netting" or not symbols:
            return
        said = shared_positions(self._raw_positions(), symbols, self.settings.magic)
        if said is not None:
            log.warning("%s", said)
            self._start_notes.append(f"at start-up {said}")

    def refresh_server_offset(self, symbols: Sequence[str] = ()) -> int:
        """Date the server's clock from a fresh tick of ``time_symbols`` (or ``symbols``, or
        the Market Watch symbols), waiting up to ``offset_probe_seconds`` for one; keeps
        the offset and returns it in seconds."""
        names = list(self.settings.time_symbols or symbols)
        if not names:
            listed = self.api.symbols_get()
            if listed is None:
                raise BrokerError(f"symbols_get() failed: last_error={last_error(self.api)}")
            names = [str(x.name) for x in listed if bool(x.visible)][:50]
        self._time_names = []
        seconds = self.settings.offset_probe_seconds
        probe(self._watch, names, self.sender.tick, self._now, self._sleep, seconds)
        self._time_names = names
        return self._clock.offset_seconds

    def close_connection(self) -> None:
        """``shutdown()`` once; safe to call again."""
        if self._initialized:
            self._initialized = False
            self.api.shutdown()

    # -- queries ------------------------------------------------------------------------

    def _symbol(self, symbol: str) -> tuple[SymbolInfo, Raw] | None:
        raw = self.api.symbol_info(symbol)
        if raw is None:
            return None
        d = as_dict(raw)
        if not d.get("visible", True):
            self.api.symbol_select(symbol, True)
        return symbol_info_from(d), d

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        found = self._symbol(symbol)
        return found[0] if found else None

    def calc_profit(
        self,
        symbol: str,
        direction: Direction,
        volume: float,
        open_price: float,
        close_price: float,
    ) -> float | None:
        """:class:`hookspecs.ProfitCalculator`: the terminal's ``order_calc_profit``, which
        converts from the symbol's profit currency at the server's rates; ``None`` when it
        cannot say."""
        kind = self.api.ORDER_TYPE_BUY if direction == "buy" else self.api.ORDER_TYPE_SELL
        value = self.api.order_calc_profit(
            kind, symbol, float(volume), float(open_price), float(close_price)
        )
        return float(value) if value is not None else None

    def quote(self, symbol: str) -> Quote | None:
        tick = self.sender.tick(symbol)
        return quote_from_tick(symbol, tick, self.server_clock) if tick else None

    def account(self) -> AccountInfo:
        raw = self.api.account_info()
        if raw is None:
            raise BrokerError(f"account_info() failed: last_error={last_error(self.api)}")
        return account_from(as_dict(raw), self.c.hedging)

    @property
    def margin_mode(self) -> MarginMode:
        if self._margin_mode is None:
            self._margin_mode = self.account().margin_mode
        return self._margin_mode


def create_mt5_broker(
    settings: Mt5Settings,
    *,
    module: object | None = None,
    symbols: Sequence[str] = (),
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Mt5Broker:
    """Import the API (lazily: only now), connect and check. ``symbols`` date the server
    clock when ``time_symbols`` is not set. Raises BrokerError with a clear message."""
    api = import_api(settings, module)
    reopen = (lambda: import_api(settings, module)) if settings.module == "mt5linux" else None
    try:
        broker = Mt5Broker(api, settings, clock=clock, sleep=sleep, reopen=reopen)
    except AttributeError as exc:
        raise BrokerError(f"not a MetaTrader5 API object: {exc}") from exc
    broker.connect(symbols)
    return broker
