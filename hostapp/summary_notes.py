"""The host's own notes under a run's summary (``host_notes``): what it had to guess, what
the broker and the plugins said of the run, in words. Read once, at the run's end: some
end an episode when read (slow plugin calls), so a live report written while the run goes
leaves them to the final one (:mod:`hostapp.live_interim`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from hookspecs import Broker, SymbolInfo

from . import app as appmod
from .gap_fill_notes import gap_fills, gaps_note, split_bars
from .loop import LoopStats
from .loop_drivers import BROKER_DOWN
from .loop_gone import unconfirmed_note, unsynced_note
from .market.csvsplits import SplitTimes
from .outcomes import Outcome
from .run_notes import (
    attention_note,
    carried_note,
    data_ended_note,
    host_bars_note,
    netted_note,
    no_strategy_note,
    plugin_failure_notes,
    refusals_note,
    skipped_note,
    source_notes,
    timeframe_note,
    vetoes_note,
)


def host_notes(
    app: appmod.App,
    stats: LoopStats,
    extra: Mapping[str, Any],
    trades: Sequence[Outcome],
    splits: SplitTimes | None,
    broker_note: str | None,
    listed: Collection[int],
    tripped: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The notes of the run: ``extra``'s (the caller's, about its data) first, then the
    host's; ``broker_note``: what the broker's end said (:func:`hostapp.driving.run_results`),
    ``listed``: the tickets open at the end, ``tripped``: the plugins switched off."""
    rules = _symbol_rules(app.broker)
    return [
        n
        for n in (
            *extra.get("host_notes", ()),  # the caller's, about its data
            appmod.guessed_rules_note(app.broker, app.loop.symbols),
            appmod.costs_note(app.broker, app.loop.symbols),
            timeframe_note(app.base_timeframe, app.timeframe, app.configured_timeframe or None),
            host_bars_note(app.market, app.loop.symbols, app.base_timeframe, app.timeframe)
            if extra.get("mode") != "live"  # a terminal's market is asked no more
            else None,
            no_strategy_note(app.plugins.listing()),
            refusals_note(stats),
            gaps_note(
                gap_fills(stats.entries, stats.closes, rules),
                rules,
                {t.ticket: t.r for t in trades},
                live=extra.get("mode") == "live",
                splits=split_bars(splits or {}, app.base_timeframe),
            ),
            data_ended_note(stats),
            netted_note(stats),
            carried_note(stats),
            unconfirmed_note(  # one listed again by now is open at the end
                [t for t in stats.unconfirmed_at_end if t not in listed]
            )
            if not stats.account_changed  # left with the account, not closed
            else None,
            unsynced_note(stats.unsynced_lists),
            vetoes_note(stats),
            skipped_note(stats),
            broker_note,
            attention_note(app.broker),
            *source_notes(app.broker, app.market),
            *plugin_failure_notes(
                app.plugins.listing(),
                stats,
                app.plugins.failed_calls.by_plugin(),
                {t["plugin"]: t for t in tripped},
            ),
            *app.plugins.slow.notes(),
            *app.host.unawaited.notes(),
        )
        if n
    ]


def _symbol_rules(broker: Broker) -> Callable[[str], SymbolInfo | None]:
    """The broker's rules of a symbol, ``None`` when it cannot say (a live terminal gone
    at the end): the summary's notes then say what they can without them."""

    def rules(symbol: str) -> SymbolInfo | None:
        try:
            return broker.symbol_info(symbol)
        except BROKER_DOWN:
            return None

    return rules
