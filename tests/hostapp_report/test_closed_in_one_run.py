"""Pairs of the same entries that closed in one run only: the plugin closed a trade the
baseline still held when the bars ended. The paired R figures count pairs closed in both
runs, so the table read "trades changed 0" beside a trade DTMS closed at −0.65R
(USDJPY's daily bars), and a note put a net R change of +0.14R beside 40.21 less money
down to sizing by risk when one trade closed in one run only made it (USDCHF's, against
atr_trailing). The figures are the runs' as those replays gave them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from hostapp.compare import RunResult, build_report, comparison_table
from hostapp.compare_notes import notes
from hostapp.loop import LoopStats
from hostapp.outcomes import Outcome

T = datetime(2021, 7, 1, tzinfo=UTC)


def trade(
    ticket: int, day: int, profit: float, r: float | None, floating: tuple[float, float] = (0, 0)
) -> Outcome:
    """A buy of USDCHF opened on ``day``; closed with ``r``, else open at the end,
    floating ``floating`` (money, R)."""
    opened = T + timedelta(days=day)
    done = r is not None
    return Outcome(
        ticket, "USDCHF", "buy", 0.11, opened, 0.91, 0.905, 0.92, "sma_strategy",
        opened + timedelta(days=9) if done else None, 0.905 if done else None,
        "stop_loss" if done else "open", profit, r,
        floating=None if done else floating[0], floating_r=None if done else floating[1],
    )  # fmt: skip


def result(label: str, trades: list[Outcome]) -> RunResult:
    closed = [t for t in trades if t.closed_at is not None]
    summary = {
        "trades": len(trades),
        "closed_trades": len(closed),
        "open_at_end": len(trades) - len(closed),
        "pnl": round(sum(t.profit for t in trades), 2),
        "symbols": ["USDCHF"],
        "timeframe": "D1",
        "base_timeframe": "D1",
    }
    return RunResult(label, LoopStats(), [], trades, summary, 10_000.0, T)


def usdchf(against: str | None = "atr_trailing") -> dict[str, Any]:
    """The USDCHF A/B's same entries: trade 3 closed with DTMS at −53.78, held by the
    baseline to the end (floating −7.94)."""
    baseline = [
        trade(1, 0, -68.35, -0.7040),
        trade(2, 20, 9.40, 0.0998),
        trade(3, 48, 0.0, None, (-7.94, -0.0864)),
    ]
    dtms = [trade(1, 0, -54.78, -0.5650), trade(2, 20, 9.40, 0.0998), trade(3, 48, -53.78, -0.5825)]
    return build_report(
        "dtms", result("without", baseline), result("same_entries", dtms), None, against
    )


def test_a_pair_closed_in_one_run_only_is_kept_with_what_each_run_made_of_it() -> None:
    paired = usdchf()["same_entries"]["paired"]
    assert (paired["pairs"], paired["pairs_closed"], paired["net_r_change"]) == (3, 2, 0.139)
    assert paired["closed_in_both_pnl_change"] == 13.57  # -54.78 - (-68.35), and 0
    (once,) = paired["closed_in_one_run"]
    assert once["pair"] == 3 and once["closed_in"] == "with" and once["ticket"] == 3
    assert (once["r"], once["profit"]) == (-0.5825, -53.78)
    assert (once["open_profit"], once["floating"], once["floating_r"]) == (0.0, -7.94, -0.0864)


def test_the_money_note_names_the_trade_closed_in_one_run_not_the_sizing() -> None:
    """-40.21 is +13.57 from the pairs closed in both (which agree with +0.14R) and
    -53.78 from trade 3: the sizing by risk explains none of it."""
    said = notes(usdchf())
    once, money = said
    assert once == (
        "2 of the 3 pairs closed in both runs, and only those are in the R figures above; "
        "1 closed in one run only, the other holding it at the end, and its result is in the "
        "realised P&L alone: pair 3 (USDCHF buy opened 2021-08-18 00:00, ticket 3) closed "
        "with dtms at -0.58R (-53.78), still open at the end with atr_trailing (floating "
        "-0.09R, -7.94)"
    )
    assert money == (
        "on the same entries the net R change is +0.14R but the realised P&L changed by "
        "-40.21: of that, +13.57 from the 2 pairs closed in both runs, which the R change "
        "counts; -53.78 from the 1 closed in one run only (named above); judge trade "
        "management by R, the account by money"
    )
    assert "sized by risk" not in money


def test_sizing_is_said_as_well_when_the_pairs_closed_in_both_still_disagree() -> None:
    """Trade 1 closed better in R with DTMS but lost more money (a smaller balance made
    one R less money in the baseline): both causes are said, each with its part."""
    report = usdchf(None)
    paired = report["same_entries"]["paired"]
    paired["closed_in_both_pnl_change"] = -6.43  # as if trade 1 lost 74.78 with DTMS
    report["same_entries"]["with"]["pnl"] = -119.16  # -58.95 - 6.43 - 53.78
    (_, money) = notes(report)
    assert money.startswith(
        "on the same entries the net R change is +0.14R but the realised P&L changed by "
        "-60.21: of that, -6.43 from the 2 pairs closed in both runs, which the R change "
        "counts; -53.78 from the 1 closed in one run only (named above); on those pairs "
        "the two still disagree because orders sized by risk"
    )


def test_the_table_says_how_many_pairs_closed_in_both_runs_when_not_all() -> None:
    """USDJPY's: 4 pairs, 1 closed in both; "trades changed 0" is of that one."""
    report = usdchf()
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    rows = [
        [c.strip() for c in line.split("│")][1:4]
        for line in console.export_text().splitlines()
        if line.count("│") > 3
    ]
    labels = [row[0] for row in rows]
    at = labels.index("entries paired")
    assert rows[at + 1] == ["closed in both runs", "", "2"]
    every = build_report(
        "dtms",
        result("without", [trade(1, 0, -68.35, -0.7040)]),
        result("same_entries", [trade(1, 0, -54.78, -0.5650)]),
        None,
    )
    console = Console(record=True, width=200)
    console.print(comparison_table(every))
    assert "closed in both runs" not in console.export_text()
    assert len(notes(every)) == 0  # all closed in both, R and money agree: nothing to say


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """The comparison table's rows, each its label and first two cells."""
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    return [
        [c.strip() for c in line.split("│")][1:4]
        for line in console.export_text().splitlines()
        if line.count("│") > 3
    ]


def test_a_pair_closed_in_both_without_an_r_is_counted_and_its_money_said_apart() -> None:
    """Trade 2 opened without a stop (no R) and closed in both runs, 40.00 worse with
    DTMS: it closed in both, so the table and the note count it so, and its money is its
    own part, not put down to trades in neither run."""
    report = usdchf()
    same = report["same_entries"]
    baseline = [
        trade(1, 0, -68.35, -0.7040),
        dataclasses.replace(trade(2, 20, 10.0, 0.0), initial_stop=None, r=None),
        trade(3, 48, 0.0, None, (-7.94, -0.0864)),
    ]
    dtms = [trade(1, 0, -54.78, -0.5650), dataclasses.replace(baseline[1], profit=-30.0)]
    dtms.append(trade(3, 48, -53.78, -0.5825))
    report = build_report(
        "dtms", result("without", baseline), result("same_entries", dtms), None, "atr_trailing"
    )
    paired = report["same_entries"]["paired"]
    assert (paired["pairs"], paired["pairs_closed"], paired["closed_in_both_without_r"]) == (
        3,
        1,
        1,
    )
    assert paired["closed_in_both_without_r_pnl_change"] == -40.0
    assert same["paired"]["closed_in_both_without_r"] == 0  # usdchf's: all with an R
    once, money = notes(report)
    assert once.startswith(
        "2 of the 3 pairs closed in both runs, and only the 1 of them with an R (opened "
        "with a stop) is in the R figures above; 1 closed in one run only"
    )
    assert money == (
        "on the same entries the net R change is +0.14R but the realised P&L changed by "
        "-80.21: of that, +13.57 from the 1 pair closed in both runs with an R, which the R "
        "change counts; -40.00 from the 1 closed in both runs without an R (opened without "
        "a stop), which no R figure counts; -53.78 from the 1 closed in one run only (named "
        "above); judge trade management by R, the account by money"
    )
    rows = table_rows(report)
    at = [row[0] for row in rows].index("entries paired")
    assert rows[at + 1 : at + 3] == [
        ["closed in both runs", "", "2"],
        ["with an R (counted below)", "", "1"],
    ]
    assert "with an R" not in str(table_rows(usdchf()))
