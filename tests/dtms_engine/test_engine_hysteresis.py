"""HEDGED and RECOVERING never send a trade back and forth on one score (docs/dtms.md §5,
row 8). Row 8 left HEDGED on "structure +1" whatever S was, and row 10 re-hedged at
S ≤ to_hedge: at S = to_hedge with structure +1 (the default thresholds reach it with
order flow in a RANGE regime) the trade closed its hedge and opened a new one on every bar,
each new HEDGED pushing the flat deadline away, and on a netting account each HEDGED was
another 50 % partial close. Row 8 now needs S above to_hedge."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support.dtms_kit import SETTINGS, minutes
from support.dtms_machine import BAR, NOW, ev, hedged, kinds, recovering

from dtms_plugin.engine import TradeRecord
from dtms_plugin.settings import GROUPS, DtmsSettings
from dtms_plugin.settings_ranges import check_ranges
from hookspecs import ActionKind, DefensiveState

S = DefensiveState
K = ActionKind
#: the probe's thresholds: accepted by the settings' checks (docs/dtms.md §10)
FLIP = replace(
    SETTINGS,
    thresholds=replace(SETTINGS.thresholds, to_l1=-1.5, to_l2=-2.5, l2_recover=-1.5, to_hedge=-3.5),
)


def test_structure_up_at_the_hedge_threshold_keeps_the_hedge() -> None:
    check_ranges(FLIP, GROUPS)
    for sets, total in ((FLIP, -3.5), (SETTINGS, -6.0), (SETTINGS, -7.0)):
        e = ev(hedged(), total, structure=1.0, settings=sets)
        assert (e.record.state, e.transition, e.actions) == (S.HEDGED, None, ())


def test_structure_up_above_the_hedge_threshold_still_recovers() -> None:
    e = ev(hedged(), -5.9, structure=1.0)
    assert e.transition == (S.HEDGED, S.RECOVERING)
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 77})]
    e = ev(hedged(), 1.0)  # S ≥ recover, structure 0: row 8's other clause
    assert e.transition == (S.HEDGED, S.RECOVERING)


def test_a_score_held_at_the_threshold_reaches_the_flat_deadline() -> None:
    """Before, every other bar entered HEDGED anew with a new flat deadline."""
    rec = hedged(flat_deadline=NOW + minutes(15))
    steps = []
    for i in range(5):
        at = minutes(5 * i)
        e = ev(rec, -3.5, structure=1.0, settings=FLIP, now=NOW + at, bar=BAR + at)
        rec = e.record
        if e.transition is not None:
            steps.append((e.transition, e.reason.split(";")[0]))
    assert steps == [((S.HEDGED, S.CLOSED), "HEDGED→CLOSED: flat deadline passed")]


def test_a_netting_account_is_not_closed_down_bar_by_bar() -> None:
    rec = hedged(hedge_ticket=None, hedge_volume=0.0)
    for i in range(4):
        at = minutes(5 * i)
        e = ev(rec, -3.5, structure=1.0, settings=FLIP, hedging=False, now=NOW + at, bar=BAR + at)
        rec = e.record
        assert e.actions == () and rec.state is S.HEDGED


score = st.floats(-10.5, 10.5, allow_nan=False)


def _accepted(values: tuple[float, ...]) -> DtmsSettings | None:
    to_l1, l1_recover, to_l2, l2_recover, to_hedge, recover = values
    th = replace(
        SETTINGS.thresholds,
        to_l1=to_l1,
        l1_recover=l1_recover,
        to_l2=to_l2,
        l2_recover=l2_recover,
        to_hedge=to_hedge,
        recover=recover,
    )
    sets = replace(SETTINGS, thresholds=th)
    try:
        check_ranges(sets, GROUPS)
    except ValueError:
        return None
    return sets


@st.composite
def accepted_thresholds(draw: st.DrawFn) -> DtmsSettings:
    """Threshold sets the settings accept, drawn in their order (each deeper level below
    the one before, each way back above its way in), sometimes a hair apart."""
    gap = st.one_of(st.floats(1e-12, 1e-8), st.floats(1e-8, 4.0))
    to_l1 = -draw(st.floats(1e-9, 4.0))
    to_l2 = to_l1 - draw(gap)
    to_hedge = to_l2 - draw(gap)
    recover = draw(st.one_of(st.floats(1e-12, 1e-8), st.floats(1e-8, 4.0)))
    sets = _accepted((to_l1, to_l1 + draw(gap), to_l2, to_l2 + draw(gap), to_hedge, recover))
    assume(sets is not None)
    assert sets is not None
    return sets


def _next_bar(rec: TradeRecord, sets: DtmsSettings, total: float, hedging: bool, **sc: object):
    return ev(
        rec, total, settings=sets, hedging=hedging, now=NOW + minutes(5), bar=BAR + minutes(5), **sc
    )


@settings(max_examples=400, deadline=None)
@given(
    sets=accepted_thresholds(),
    total=score,
    structure=st.sampled_from([-1.0, 0.0, 1.0]),
    confluence=st.booleans(),
    hedging=st.booleans(),
    start=st.sampled_from([S.HEDGED, S.RECOVERING]),
    near=st.sampled_from([None, "to_hedge", "recover"]),
)
def test_no_threshold_set_flips_hedged_and_recovering_on_one_score(
    sets: DtmsSettings,
    total: float,
    structure: float,
    confluence: bool,
    hedging: bool,
    start: DefensiveState,
    near: str | None,
) -> None:
    """For every threshold set ``check_ranges`` accepts: a step between HEDGED and
    RECOVERING is never followed by the step back on the same score and signals."""
    if near is not None:  # on a threshold, up to its rounding tolerance
        total = getattr(sets.thresholds, near) + total * 1e-10
    sc = {"structure": structure, "confluence_against": confluence}
    rec = hedged(volume=1.0) if start is S.HEDGED else recovering(volume=1.0)
    if not hedging:
        rec = replace(rec, hedge_ticket=None, hedge_volume=0.0)
    first = ev(rec, total, settings=sets, hedging=hedging, **sc)
    if first.record.state not in (S.HEDGED, S.RECOVERING) or first.transition is None:
        return
    assert first.record.state is not start
    second = _next_bar(first.record, sets, total, hedging, **sc)
    assert second.record.state is first.record.state, (first.reason, second.reason)
