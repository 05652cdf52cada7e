"""A stop filled across a split in a file's unadjusted prices was called "a gap, such as
a market's overnight or weekend close" (987654.csv's stop at 17.85 filled at 12.28 on its
3:2 bonus issue, 9.95R past it): the note now names the split, a loss no holder of the
stock had (:mod:`hostapp.market.csvsplits`), through the real ``hostapp replay``."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path

from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import ROOT, replay
from hostapp_report.test_gap_fills import MORNING, bought, closes_of, session_and_gap

from hookspecs import Bar
from hostapp.gap_fill_notes import gap_fills, gaps_note, split_bars
from hostapp.testing import bars_from_closes


def test_a_stop_filled_on_a_splits_bar_is_named_a_split() -> None:
    broker, trade = bought(stop=332.9721)
    closes = closes_of(broker, Bar(MORNING, 166.93, 167.5, 166.0, 167.0, 100.0))
    fills = gap_fills([(MORNING, trade, "s")], closes, broker.symbol_info)
    splits = split_bars({"AAPL": [(MORNING, "2:1 (×0.50)")]}, "M1")
    note = gaps_note(fills, broker.symbol_info, {}, splits=splits)
    assert note == (
        "1 stop filled beyond its price on a bar that opened past it: a split in the file's "
        "unadjusted prices, no loss a holder had; ticket 1 (AAPL buy), its stop at 332.9721 "
        "filled at 166.9300 on the bar that ended 2026-07-31 13:31 (a split, 2:1 (×0.50)), "
        "185.60R past it"
    )
    elsewhere = split_bars({"AAPL": [(MORNING - timedelta(days=1), "2:1 (×0.50)")]}, "M1")
    assert "a gap, such as" in (gaps_note(fills, broker.symbol_info, splits=elsewhere) or "")


def split_session() -> list[Bar]:
    """:func:`session_and_gap`'s session, then a morning at half its prices: a 2:1 split
    in unadjusted prices, under the buy's stop."""
    day = [b for b in session_and_gap() if b.time < MORNING]
    halves = [day[-1].close / 2 + 0.05 * (i % 3) for i in range(21)]
    morning = bars_from_closes(halves, start=MORNING, step_seconds=60)
    morning[0] = dataclasses.replace(morning[0], open=day[-1].close / 2)
    return day + morning


def test_a_replay_names_the_split_its_stop_filled_across(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    write_bars_csv(tmp_path / "AAPL.csv", split_session())
    done = replay(tmp_path, "AAPL.csv", "--timeframe", "M1")
    assert done.returncode == 0, done.stderr
    (split,) = [n for n in done.stdout.splitlines() if "common split's ratio" in n]
    assert "2026-07-31: 2:1 (×0.50), 338 → 169" in split
    (line,) = [n for n in done.stdout.splitlines() if "filled beyond" in n]
    assert "on a bar that opened past it: a split in the file's unadjusted prices" in line
    assert "on the bar that ended 2026-07-31 13:31 (a split, 2:1 (×0.50))" in line
    assert "overnight" not in line
