"""A netting position added to, in ``trades.csv`` (README, "trades.csv"; the docstring of
hostapp/outcomes.py): its row is every lot it held at their volume-weighted entry, so
``profit`` is ``(exit_price − entry_price) × volume × contract size``, and its ``r`` is
counted against the risk of every lot, each add's against the opening's stop. The row once
said the opening fill's 0.5 lots at its 1.1001 with the profit of 1.0 lot (257.00 where
its own figures made 178.50) and an R of the gain of 1.0 lot over the risk of 0.5
(+1.01R; a stop-out of both lots read −2.39R).

Each case is a real ``hostapp replay`` of a hand-made EURUSD file (a 0.0001 spread: a buy
fills at the close + 0.0001, a sell and a close of a buy at the close) with a plugin,
installed as any third party's is, that places a script's orders and closes."""

from __future__ import annotations

import csv
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.replay_cli import python

CONTRACT = 100_000  # EURUSD's lots

SCRIPTED = textwrap.dedent(
    """
    import json
    from datetime import UTC, datetime
    from pathlib import Path
    from hookspecs import Action, ActionKind, OrderRequest, hookimpl

    def script():
        return json.loads(Path("script.json").read_text())

    def cycle(now):  # the n-th bar (from 1) closes at 10:00 + 5n minutes
        return str(int((now - datetime(2024, 3, 4, 10, tzinfo=UTC)).total_seconds() // 300))

    class NetOrders:
        \"\"\"script.json's orders: cycle -> [[direction, volume, stop]].\"\"\"

        @hookimpl
        def propose_orders(self, symbol, now):
            todo = script()["orders"].get(cycle(now), [])
            return [OrderRequest(symbol, d, v, stop_loss=sl) for d, v, sl in todo]

    class NetCloses:
        \"\"\"script.json's closes: cycle -> lots of each position; cycles to close all.\"\"\"

        @hookimpl
        async def manage_positions(self, host, now):
            todo, n = script(), cycle(now)
            for pos in host.broker.positions():
                if n in todo["parts"]:
                    kind, params = ActionKind.PARTIAL_CLOSE, {"volume": todo["parts"][n]}
                elif n in todo["close"]:
                    kind, params = ActionKind.CLOSE, {}
                else:
                    continue
                await host.execute(Action(pos.ticket, kind, params, key=f"{kind}-{pos.ticket}-{n}"))
    """
)

#: closes of the M5 bars; cycle n (1-based) is bar n - 1
CLOSES = [1.1, 1.1, 1.1, 1.102, 1.102, 1.103, 1.103, 1.104, 1.104, 1.104, 1.104, 1.104]


def _replay(
    here: Path, script: dict[str, Any], margin_mode: str, bars: list[str], *args: str
) -> list[dict[str, str]]:
    """``hostapp replay EURUSD.csv ARGS`` of ``bars`` in ``here`` with the scripted
    plugins alone on a ``margin_mode`` account; the rows of its ``trades.csv``."""
    (here / "netscript_plugin.py").write_text(SCRIPTED)
    dist = here / "netscript_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: netscript-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[hostapp]\nnetorders = netscript_plugin:NetOrders\n"
        "netcloses = netscript_plugin:NetCloses\n"
    )
    (here / "script.json").write_text(json.dumps(script))
    (here / "plugins.toml").write_text(
        '[host]\nsymbols = ["EURUSD"]\ntimeframe = "M5"\n'
        f'[host.paper]\nmargin_mode = "{margin_mode}"\n'
        '[plugins]\ndisabled = ["dtms", "exits", "sma_strategy"]\n'
        'enabled = ["netorders", "netcloses"]\n'
    )
    (here / "EURUSD.csv").write_text("time,open,high,low,close,volume,spread\n" + "".join(bars))
    path = os.pathsep.join(filter(None, [str(here), os.environ.get("PYTHONPATH")]))
    proc = python(
        here, "-m", "hostapp.cli", "replay", "EURUSD.csv", *args, "--report", "rep",
        env={"PYTHONPATH": path},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    with (here / "rep" / "trades.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _bars(closes: list[float], lows: dict[int, float] | None = None) -> list[str]:
    """Flat bars at ``closes`` (one M5 bar each, from 10:00), each opening at the close
    before it; ``lows``: a bar's low where it dips below its open and close."""
    out = []
    for i, close in enumerate(closes):
        minutes = 10 * 60 + 5 * i
        start = closes[i - 1] if i else close
        low = (lows or {}).get(i, min(start, close))
        out.append(
            f"2024-03-04T{minutes // 60:02d}:{minutes % 60:02d}:00Z,"
            f"{start},{max(start, close)},{low},{close},100,0.0001\n"
        )
    return out


def _assert_row(row: dict[str, str], direction: str, reason: str, *numbers: float) -> None:
    """``row``'s side and close reason, then its volume, entry, exit, profit and R."""
    assert (row["direction"], row["close_reason"]) == (direction, reason)
    keys = ("volume", "entry_price", "exit_price", "profit", "r")[: len(numbers)]
    assert [float(row[k]) for k in keys] == pytest.approx(numbers, rel=1e-9), row


def _profit_is_the_price_move(row: dict[str, str]) -> None:
    sign = 1 if row["direction"] == "buy" else -1
    moved = (float(row["exit_price"]) - float(row["entry_price"])) * sign
    assert moved * float(row["volume"]) * CONTRACT == pytest.approx(float(row["profit"]), abs=0.01)


ADD_ON = {  # buy 0.5 at 1.1001, add 0.5 at 1.1021 (1.0 at 1.1011), close 0.33, the rest
    "orders": {"2": [["buy", 0.5, 1.095]], "4": [["buy", 0.5, None]]},
    "parts": {"6": 0.333},  # 0.33: the volume step
    "close": ["8"],
}


@pytest.mark.parametrize(
    ("add_stop", "risk"),
    [
        (None, 0.5 * (1.1001 - 1.095) + 0.5 * (1.1021 - 1.095)),  # the add kept 1.095
        # an add sent with a stop of its own moves the position's (netting: one stop), and
        # its risk is still counted against the opening's stop: the stop an add came with
        # is in no record of either broker, and a stop trailed later must not move R
        (1.099, 0.5 * (1.1001 - 1.095) + 0.5 * (1.1021 - 1.095)),
    ],
    ids=["add-kept-the-stop", "add-with-its-own-stop"],
)
def test_an_added_to_position_is_every_lot_at_their_mean_entry(
    tmp_path: Path, add_stop: float | None, risk: float
) -> None:
    script = {**ADD_ON, "orders": {**ADD_ON["orders"], "4": [["buy", 0.5, add_stop]]}}
    (row,) = _replay(tmp_path, script, "netting", _bars(CLOSES))
    # 62.70 for 0.33 at 1.103, 194.30 for 0.67 at 1.104, each 1.1011 in
    gain = 0.33 * (1.103 - 1.1011) + 0.67 * (1.104 - 1.1011)
    _assert_row(row, "buy", "exit", 1.0, 1.1011, 1.10367, 257.0, gain / risk)
    assert float(row["initial_stop"]) == 1.095  # the opening order's
    _profit_is_the_price_move(row)


def test_a_stop_out_of_an_added_to_position_is_minus_one_r(tmp_path: Path) -> None:
    """Both lots stopped at the stop they shared: what was risked was lost, −1R."""
    script = {**ADD_ON, "parts": {}, "close": []}
    (row,) = _replay(tmp_path, script, "netting", _bars(CLOSES, lows={5: 1.0949}))
    _assert_row(row, "buy", "stop_loss", 1.0, 1.1011, 1.095, -610.0, -1.0)
    _profit_is_the_price_move(row)


def test_a_reversal_closes_the_added_to_side_and_opens_a_trade_of_its_own(
    tmp_path: Path,
) -> None:
    """A sell of 1.5 lots closes the 1.0 bought (reason ``netted``) and opens 0.5 sold:
    the closed side's row is its 1.0 lots, the new side's its own 0.5 and its own stop."""
    script = {**ADD_ON, "orders": {**ADD_ON["orders"], "6": [["sell", 1.5, 1.11]]}, "parts": {}}
    bought, sold = _replay(tmp_path, script, "netting", _bars(CLOSES))
    risk = 0.5 * (1.1001 - 1.095) + 0.5 * (1.1021 - 1.095)
    _assert_row(bought, "buy", "netted", 1.0, 1.1011, 1.103, 190.0, (1.103 - 1.1011) / risk)
    # sold at the 1.103 bid, bought back at the 1.1041 ask
    _assert_row(sold, "sell", "exit", 0.5, 1.103, 1.1041, -55.0, -(1.1041 - 1.103) / (1.11 - 1.103))
    for row in (bought, sold):
        _profit_is_the_price_move(row)


def test_a_hedging_account_keeps_each_order_a_trade_of_its_own(tmp_path: Path) -> None:
    """The same orders on a hedging account are two trades, each its own fill's lots."""
    first, second = _replay(tmp_path, ADD_ON, "hedging", _bars(CLOSES))
    gain = 0.33 * (1.103 - 1.1001) + 0.17 * (1.104 - 1.1001)
    _assert_row(first, "buy", "exit", 0.5, 1.1001, 1.10334, 162.0, gain / (0.5 * (1.1001 - 1.095)))
    _assert_row(second, "buy", "exit", 0.5, 1.1021, 1.10334, 62.0)
    assert second["r"] == ""  # opened without a stop: no R
    for row in (first, second):
        _profit_is_the_price_move(row)


def test_an_added_to_position_open_at_the_end_floats_every_lot(tmp_path: Path) -> None:
    script = {**ADD_ON, "parts": {}, "close": []}
    (row,) = _replay(tmp_path, script, "netting", _bars(CLOSES))
    assert (row["close_reason"], row["exit_price"], row["r"]) == ("open", "", "")
    assert [float(row[k]) for k in ("volume", "entry_price", "floating_profit")] == (
        pytest.approx([1.0, 1.1011, 290.0], rel=1e-9)  # 1.0 lot, 1.1011 to the 1.104 bid
    )
    risk = 0.5 * (1.1001 - 1.095) + 0.5 * (1.1021 - 1.095)
    assert float(row["floating_r"]) == pytest.approx((1.104 - 1.1011) / risk, rel=1e-9)


def test_the_ab_pairs_an_added_to_trade_by_the_entry_it_replays(tmp_path: Path) -> None:
    """The same-entries run opens the baseline's entries again, the opening 0.5 lots, not
    the adds (no entries of their own): the baseline's 1.0-lot row and the 0.5-lot row
    with the compared plugin are one pair, as the entry is the same."""
    rows = _replay(tmp_path, ADD_ON, "netting", _bars(CLOSES), "--compare", "netcloses")
    runs = {(r["comparison"], r["run"]): r for r in rows if r["comparison"] == "same_entries"}
    without, with_ = runs["same_entries", "without"], runs["same_entries", "with"]
    assert (float(without["volume"]), float(with_["volume"])) == (1.0, 0.5)
    assert without["close_reason"] == "open" and with_["close_reason"] == "exit"
    assert without["pair"] == with_["pair"] == "1"
