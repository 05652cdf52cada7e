"""Re-adds are a share of the volume closed since the re-add before (docs/dtms.md §5 row
11, §6), so together they never put back more than DTMS closed and the exposure never
grows above the trade's own volume. Before, a done re-add left ``closed_volume`` as it
was and the next re-add was half of the whole closed volume again: four laps of the ladder
re-added 1.51 lots to a 1.0-lot trade (exposure 1.58)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, scored, trade
from support.dtms_machine import NOW, ev, kinds, recovering

from dtms_plugin.engine import AccountState, TradeRecord, begin, evaluate, finish, register
from hookspecs import ActionKind, ActionResult, DefensiveState

S = DefensiveState
K = ActionKind
ON = replace(SETTINGS, actions=replace(SETTINGS.actions, re_add=True))
#: L1, L2 (partial close), HEDGED, RECOVERING, then the 6 bars to its deadline and one more
LAP = [-2.5, -4.5, -6.5, 1.5] + [1.5] * 7


def _walk(
    scores: list[float], hedging: bool = True
) -> tuple[TradeRecord, list[tuple[float, float]]]:
    """A 1.0-lot buy scored on one new bar per score, every action done at the broker;
    each re-add's lots with the volume closed so far when it was sent."""
    rec = replace(register(trade(volume=1.0), None, T0), armed=True)
    re_adds: list[tuple[float, float]] = []
    ticket = 1000
    for i, total in enumerate(scores):
        bar = T0 + minutes(5 * (i + 1))
        now: datetime = bar + minutes(5)
        e = evaluate(
            rec,
            scored(total, bar),
            quote(2001.0, at=now),
            now,
            ON,
            GOLD,
            AccountState(hedging, False),
        )
        rec = e.record
        for a in e.actions:
            ticket += 1
            rec = finish(begin(rec, a, now), a, ActionResult.success(new_ticket=ticket), now, ON)
            if a.kind is K.RE_ADD:
                re_adds.append((float(a.params["volume"]), rec.closed_volume))
    return rec, re_adds


def test_four_laps_re_add_half_of_what_each_lap_closed() -> None:
    rec, re_adds = _walk(LAP * 4)
    assert [lots for lots, _ in re_adds] == [0.25, 0.12, 0.06, 0.03]
    assert rec.volume + sum(lots for lots, _ in re_adds) <= 1.0
    assert rec.re_added_closed == rec.closed_volume == 0.93


def test_nothing_closed_since_the_last_re_add_re_adds_nothing() -> None:
    rec = recovering(recovery_deadline=NOW, closed_volume=0.5, re_added_closed=0.5)
    e = ev(rec, 1.5, settings=ON)
    assert e.transition == (S.RECOVERING, S.HEALTHY) and e.actions == ()
    rec = replace(rec, closed_volume=0.75)
    assert kinds(ev(rec, 1.5, settings=ON)) == [(K.RE_ADD, {"volume": 0.12})]


def test_what_a_re_add_answered_for_survives_a_restart() -> None:
    rec, _ = _walk(LAP)
    assert rec.re_added_closed == 0.5
    assert TradeRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec
    # a record an earlier version wrote after its re-add: the lots closed until then were
    # answered for (that version re-added a share of all of them), not re-added again
    older = {k: v for k, v in rec.to_json().items() if k != "re_added_closed"}
    assert TradeRecord.from_json(older).re_added_closed == rec.closed_volume == 0.5
    no_re_add = {**older, "journal": [e for e in older["journal"] if e["kind"] != "re_add"]}
    assert TradeRecord.from_json(no_re_add).re_added_closed == 0.0


#: pieces of a score path: a whole lap, the way down to HEDGED, the wait to recover, ...
PIECES = (LAP, LAP[:3], LAP[3:], [1.5] * 7, [-7.0], [0.0, 0.0], [-2.5, 0.0], [3.0, 3.0])


@settings(max_examples=80, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=10),
    hedging=st.booleans(),
)
def test_re_adds_never_exceed_what_was_closed(pieces: list[list[float]], hedging: bool) -> None:
    rec, re_adds = _walk([total for piece in pieces for total in piece], hedging)
    answered = 0.0
    for lots, closed in re_adds:
        assert lots <= ON.actions.re_add_fraction * (closed - answered) + 1e-9
        answered = closed
    assert rec.volume + sum(lots for lots, _ in re_adds) <= rec.initial_volume + 1e-9
