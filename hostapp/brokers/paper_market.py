"""Bars and time from a paper account file, as a MetaTrader terminal serves them.

Several processes share a paper account file the way several programs share one MT5
terminal. The process that drives prices (the trading host) writes each closed base bar
into the file (:meth:`~hostapp.brokers.paper.PaperBroker.on_bar`); any other process, the
DTMS API server first of all, reads them back here, without rebuilding the host's data.
Like ``copy_rates_from_pos``, :meth:`PaperTerminalMarket.bars` answers for any timeframe
that is a whole multiple of the base one, with complete bars only.

Time is the account's: the newest quote in the file (the close time of the last bar the
host fed), so a replaying host drives the reader's clock too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from hookspecs import Bar

from ..market.resample import check_timeframes, resample
from ..market.timeframes import from_epoch, timeframe_seconds, to_epoch
from .paper_account import bars_timeframe, read_bars


class PaperTerminalMarket:
    """MarketView and Clock over a paper account file.

    ``base_timeframe`` is the bars' timeframe when the file does not say (a file written
    before any bar); the file's own declaration wins, because it is what the writer fed.
    ``before_first_quote`` gives the time while the file has no quote yet. ``zone``: the
    clock the data was written on, which coarser bars are built on (:mod:`..market.resample`).
    """

    def __init__(
        self,
        account_file: str | Path,
        base_timeframe: str = "M5",
        *,
        before_first_quote: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
        zone: tzinfo | None = None,
    ) -> None:
        timeframe_seconds(base_timeframe)  # a ValueError naming it when unknown
        self.path = str(account_file)
        self._default_base = base_timeframe
        self._before = before_first_quote
        self._zone = zone
        self._lock = threading.Lock()  # one connection, used by the API and engine threads
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )

    def close(self) -> None:
        self._db.close()

    @property
    def base_timeframe(self) -> str:
        with self._lock:
            return self._base()

    def _base(self) -> str:
        try:
            return bars_timeframe(self._db) or self._default_base
        except sqlite3.OperationalError:  # no meta table: nobody wrote the file yet
            return self._default_base

    def quote_time(self) -> datetime | None:
        """The newest quote time in the file; None before the first quote."""
        with self._lock:
            return self._quote_time()

    def _quote_time(self) -> datetime | None:
        try:
            row = self._db.execute("SELECT MAX(time) FROM quotes").fetchone()
        except sqlite3.OperationalError:
            return None
        return None if row is None or row[0] is None else from_epoch(row[0])

    def now(self) -> datetime:
        when = self.quote_time()
        if when is not None:
            return when
        if self._before is not None:
            return self._before()
        raise LookupError(f"{self.path}: no quote yet, so no time")

    def has_bars(self, symbol: str) -> bool:
        """Whether any process has written a bar of ``symbol`` into the file."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT 1 FROM bars WHERE symbol = ? LIMIT 1", (symbol,)
                ).fetchone()
            except sqlite3.OperationalError:
                return False
        return row is not None

    def bars(self, symbol: str, timeframe: str, count: int) -> list[Bar]:
        """The newest ``count`` closed ``timeframe`` bars of ``symbol``, oldest first."""
        if count <= 0:
            return []
        with self._lock:
            base = self._base()
            target, base_tf = check_timeframes(timeframe, base)
            target_s, base_s = target.seconds, base_tf.seconds
            now = self._quote_time()
            if now is None:
                return []
            # Only bars closed by the account's time (a writer may be mid-run ahead of us).
            until = to_epoch(now) - base_s + 1
            span = target_s if target.fixed else 31 * 86_400  # the longest month
            per = -(-span // base_s)
            try:
                rows = read_bars(self._db, symbol, until, count * per + per)
            except sqlite3.OperationalError:
                return []
        if per == 1:
            return rows[-count:]
        # One bucket more than asked for: the first may be cut, and resample drops it.
        return resample(rows, timeframe, base=base, now=now, zone=self._zone)[-count:]
