"""A symbol the paper broker does not know trades on rules guessed from its prices; the
run says so in one note (and, for a pair such as GBPJPY on a USD account, that its
profits are yen turned into pounds at its price and counted as dollars), in the summary
and once under an A/B. A pair of currencies trades a standard lot of 100,000 units."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp

from hookspecs import Bar
from hostapp.brokers.paper import PaperBroker
from hostapp.market.synthetic import generate_bars
from hostapp.report import summary_table
from hostapp.symbol_rules import guessed_rules_note, symbol_infos
from hostapp.testing import MemoryBroker

BARS = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 600, seed=2)


def scaled(to: float, decimals: int) -> list[str]:
    k = to / BARS[0].open
    return [
        f"{b.time:%Y-%m-%d %H:%M},{b.open * k:.{decimals}f},{b.high * k:.{decimals}f},"
        f"{b.low * k:.{decimals}f},{b.close * k:.{decimals}f}"
        for b in BARS
    ]


def test_the_note_says_the_guessed_volume_limits_and_stops_level() -> None:
    """Digits and the lot were said, not the 0.01 to 100 lots by 0.01 and the stops level
    that decide what a sizing can ask for and how near a stop may be."""
    broker = PaperBroker(symbols=symbol_infos({"SP500": BARS}))
    note = guessed_rules_note(broker, ["SP500"])
    assert note is not None
    assert (
        "(SP500: 2 digits, a lot of 100 units, 0.01 to 100 lots by 0.01, stops level none)" in note
    )


def test_the_note_names_each_guess_and_a_foreign_quote_currency() -> None:
    series = {"XAUUSD": BARS, "GBPJPY": BARS, "BTCUSDT": BARS}
    broker = PaperBroker(symbols=symbol_infos(series))
    note = guessed_rules_note(broker, ["XAUUSD", "GBPJPY", "BTCUSDT"])
    assert note is not None
    assert note.startswith("the paper broker does not know GBPJPY, BTCUSDT and guessed")
    assert "GBPJPY: 2 digits, a lot of 100,000 units" in note
    assert "GBPJPY's profits are in JPY, turned into GBP at its price and counted as USD" in note
    assert "BTCUSDT's profits" not in note  # not a pair of two currencies
    assert "R multiples depend on neither" not in note
    assert guessed_rules_note(broker, ["XAUUSD"]) is None  # a symbol it knows
    usd = PaperBroker(symbols=symbol_infos({"USDCHF": BARS}))
    assert "profits are in" not in (guessed_rules_note(usd, ["USDCHF"]) or "")  # converted
    assert guessed_rules_note(MemoryBroker(), ["GBPJPY"]) is None  # a real broker's rules


def test_the_note_says_what_the_guess_changes_with_dtms_and_which_keys_set_it() -> None:
    """ "R multiples depend on neither" was false: DTMS's account rail on the day's
    realised loss counts money, and the lot limits cap the risk an order takes, so the
    same SPY minute bars as SPY_us (a lot of 100 units) and SPY (one share) had DTMS
    veto 35 entries against 6. The note names the rail and the table's keys."""
    broker = PaperBroker(symbols=symbol_infos({"SP500": BARS}))
    note = guessed_rules_note(broker, ["SP500"])
    assert note is not None
    assert "depend on neither" not in note
    assert "the spread assumed for bars without one" in note
    assert "of orders sized by risk too, where the lot limits cap them" in note
    assert "the run's R results do wherever a rule counts money" in note
    assert "[plugin.dtms.rails] daily_loss_pct" in note
    assert "contract_size, volume_min, volume_step, volume_max, digits, spread" in note


def test_a_replay_of_an_unknown_pair_says_so(tmp_path: Path) -> None:
    data = tmp_path / "GBPJPY.csv"
    data.write_text("time,open,high,low,close\n" + "\n".join(scaled(190.0, 3)) + "\n")
    proc = hostapp(tmp_path, "replay", data.name, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    (note,) = [n for n in summary["host_notes"] if "does not know" in n]
    assert "does not know GBPJPY" in note and "3 digits" in note and "in JPY" in note
    assert "GBPJPY: 3 digits, a lot of 100,000 units" in note
    assert f"note: {note}" in summary_table(summary).splitlines()
    proc = hostapp(tmp_path, "replay", data.name, "--compare", "--jobs", "1", "--report", "ab")
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert proc.stdout.count("note: the paper broker does not know GBPJPY") == 1


def test_a_currency_pair_trades_a_standard_lot_and_a_metal_its_price_sized_one() -> None:
    """GBPJPY near 190 was guessed a lot of 1,000 units, USDMXN and EURNOK near 17 and 11
    one of 10,000: a lot of a currency pair is 100,000 units of its base whatever its
    price. Silver keeps the lot its price gives, as no metal's lot is 100,000 ounces."""
    series = {
        "GBPJPY": to_bars(scaled(190.0, 3)),
        "USDMXN": to_bars(scaled(17.0, 5)),
        "EURNOK": to_bars(scaled(11.5, 5)),
        "XAGUSD": to_bars(scaled(25.0, 3)),
    }
    infos = symbol_infos(series)
    assert [infos[s].contract_size for s in series] == [100_000, 100_000, 100_000, 10_000]


def test_a_cross_pairs_profit_is_turned_into_its_base_currency() -> None:
    """GBPJPY on a USD account: a yen move of a standard lot turned into pounds at the
    close, counted as dollars, not 150 times the worth as yen counted as dollars."""
    broker = PaperBroker(symbols=symbol_infos({"GBPJPY": to_bars(scaled(190.0, 3))}))
    assert broker.calc_profit("GBPJPY", "buy", 0.1, 190.0, 191.0) == round(10_000 / 191.0, 2)


def to_bars(lines: list[str]) -> list[Bar]:
    return [
        Bar(datetime.fromisoformat(t).replace(tzinfo=UTC), *map(float, prices))
        for t, *prices in (line.split(",") for line in lines)
    ]
