"""Why the example strategy placed no order, through the real command: the averages that
crossed are never reported as "never crossed"."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, replay


def _report(here: Path, settings: str) -> dict[str, object]:
    with (here / "plugins.toml").open("a") as toml:
        toml.write(f"\n[plugin.sma_strategy]\n{settings}\n")
    proc = replay(here, "XAUUSD.csv", "--json", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report: dict[str, object] = json.loads(proc.stdout)["plugin_reports"]["sma_strategy"]
    return report


def test_a_stop_below_zero_is_the_reason_said_not_a_cross_never_seen(tmp_path: Path) -> None:
    """Stops and targets 100,000 ATRs away: a buy's stop and a sell's target land below
    zero, so every cross's order is dropped; the note used to say the 10/30 averages
    never crossed."""
    report = _report(bars_folder(tmp_path, bars=600), "sl_atr = 100000\ntp_atr = 100000")
    assert report["orders"] == 0
    note = str(report["note"])
    found = re.fullmatch(
        r"no order: the 10/30 averages crossed ([\d,]+) times, and ([\d,]+) of those crosses "
        r"gave no order: ([\d,]+) whose stop \(100000 ATRs\) or target \(100000 ATRs\) fell "
        r"at or below zero \(lower sl_atr or tp_atr\)",
        note,
    )
    assert found, note
    crosses, skipped, below = (int(n.replace(",", "")) for n in found.groups())
    assert crosses == skipped == below == report["crosses_skipped"] and crosses > 0


def test_crosses_dropped_beside_orders_placed_are_counted(tmp_path: Path) -> None:
    """``sl_atr = 5000``: a buy's stop lands below zero, a sell's stays above: the sells
    are placed, and the note says how many crosses gave no order, and why, after the
    over-risk it says too (a stop so far off that the minimum lot risks too much)."""
    report = _report(bars_folder(tmp_path, bars=600), "sl_atr = 5000")
    orders, skipped = report["orders"], report["crosses_skipped"]
    assert isinstance(orders, int) and isinstance(skipped, int) and orders > 0 and skipped > 0
    assert str(report["note"]).startswith(f"{orders:,} of {orders:,} orders risked more than")
    assert (
        str(report["note"])
        .split("; ", 1)[1]
        .startswith(
            f"{orders:,} orders; the 10/30 averages crossed {orders + skipped:,} times, and "
            f"{skipped:,} of those crosses gave no order: {skipped:,} whose stop (5000 ATRs)"
        )
    )
