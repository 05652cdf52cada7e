"""The trailing stop under the ladder (docs/dtms.md §6): a Chandelier stop moved once per
closed fast bar from the entry on while the trade is not hedged, tighter only, never twice
for one bar, never beside a ladder stop move, and the window it hangs from."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, scored, trade

from dtms_plugin.engine import (
    AccountState,
    Evaluation,
    SignalSnapshot,
    TradeRecord,
    evaluate,
    register,
)
from dtms_plugin.engine.indicators import ChandelierWindow
from dtms_plugin.engine.journal import begin, finish
from dtms_plugin.engine.record import TRAIL_MARK
from dtms_plugin.settings import DtmsSettings, load_settings
from hookspecs import Action, ActionKind, ActionResult, DefensiveState, ResultCode

S = DefensiveState
BAR = T0 + minutes(20)
NOW = BAR + minutes(5)
WINDOW = (2010.0, 1995.0, 2.0)  # highest high, lowest low, mean true range


def record(state: S = S.HEALTHY, **changes: object) -> TradeRecord:
    base = register(trade(), None, T0)  # a buy at 2000, stop 1990
    fields: dict[str, object] = dict(
        state=state, armed=True, seq=3, last_bar_time=BAR - minutes(5), last_eval_price=2005.0
    )
    fields.update(changes)
    return replace(base, **fields)  # type: ignore[arg-type]


def run(
    rec: TradeRecord,
    total: float = 0.0,
    *,
    mid: float = 2006.0,
    window: tuple[float, float, float] | None = WINDOW,
) -> Evaluation:
    snap = scored(total, BAR)
    snap.trail = window
    return evaluate(rec, snap, quote(mid), NOW, SETTINGS, GOLD, AccountState())


def test_a_healthy_trade_gets_the_chandelier_stop() -> None:
    e = run(record())
    (action,) = e.actions
    assert action.kind is ActionKind.TIGHTEN_SL
    assert action.params["stop_loss"] == pytest.approx(2010.0 - 2.75 * 2.0)  # 2.75 ATR
    assert action.key == f"1:3:trail@{int(BAR.timestamp())}"
    assert action.source == "dtms"  # reports attribute it by the plugin, not by its key
    # done: the record's stop follows, and the same bar never moves it again
    done = finish(
        begin(e.record, action, NOW), action, ActionResult(True, ResultCode.OK), NOW, SETTINGS
    )
    assert done.stop_loss == 2004.5
    again = evaluate(
        replace(done, last_bar_time=BAR - minutes(5)), _snap(), quote(2006.0), NOW, SETTINGS, GOLD,
        AccountState(),
    )  # fmt: skip
    assert again.actions == ()


def _snap() -> SignalSnapshot:
    snap = scored(0.0, BAR)
    snap.trail = WINDOW
    return snap


def _trailed(rec: TradeRecord, ok: bool = True) -> TradeRecord:
    """``rec`` after the trail moved its stop (or tried to) on an earlier bar."""
    key = f"{rec.ticket}:{rec.seq}{TRAIL_MARK}{int((BAR - minutes(30)).timestamp())}"
    move = Action(rec.ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 2000.0}, "trail", key, "dtms")
    answer = ActionResult(True, ResultCode.OK) if ok else ActionResult(False, ResultCode.REJECTED)
    done = finish(begin(rec, move, NOW), move, answer, NOW, SETTINGS)
    return replace(done, stop_loss=2000.0 if ok else rec.stop_loss)


def test_only_tighter_and_never_at_the_price() -> None:
    assert run(record(stop_loss=2006.5)).actions == ()  # the current stop is tighter
    # the level (2004.5) is past the limit (bid 2004.5 less the spread): for a trade the
    # trail has held, the Chandelier's exit, at the limit
    (action,) = run(_trailed(record()), mid=2004.6).actions
    assert action.params["stop_loss"] == pytest.approx(2004.3)


def test_a_trade_opened_below_the_level_waits_for_it() -> None:
    """A buy opened far below the window's high: the level is past the price before the
    trail ever held the trade. Pinned at the stops level, the stop would close the trade
    at its next tick (one in ten real trades lost a winner so)."""
    young = record(armed=False, opened_at=NOW)
    assert run(young, mid=2004.6).actions == ()
    assert run(young, mid=2004.79).actions == ()  # the limit: 2004.79 - 0.1 - 0.2 < 2004.5
    (action,) = run(young, mid=2004.81).actions  # the level just behind the limit
    assert action.params["stop_loss"] == pytest.approx(2004.5)
    (action,) = run(young, mid=2004.8).actions  # the level at the limit: taken
    assert action.params["stop_loss"] == 2004.5
    assert run(_trailed(young, ok=False), mid=2004.6).actions == ()  # a refused move held nothing


@pytest.mark.parametrize("state", [S.HEALTHY, S.WARNING_L1, S.WARNING_L2, S.RECOVERING])
def test_trailed_states(state: S) -> None:
    assert len(run(record(state)).actions) == 1


def test_from_the_entry_not_while_hedged_nor_stale_without_a_full_window_or_when_off() -> None:
    young = record(armed=False, opened_at=NOW)
    (action,) = run(young, mid=2006.0).actions  # not armed yet: trailed all the same
    assert action.params["stop_loss"] == pytest.approx(2004.5)
    assert run(record(S.HEDGED, hedge_ticket=9, hedge_volume=0.5)).actions == ()
    stale = evaluate(
        record(), _snap(), quote(2006.0), NOW + minutes(60), SETTINGS, GOLD, AccountState()
    )
    assert stale.actions == ()
    assert run(record(), window=None).actions == ()
    off = load_settings({"trail": {"enabled": False}})
    assert not off.trail.enabled
    from dtms_plugin.engine import SymbolIndicators

    assert SymbolIndicators("XAUUSD", off)._trail is None


def test_a_ladder_stop_move_wins_over_the_trail() -> None:
    e = run(record(), total=-3.0)  # HEALTHY -> WARNING_L1 owes its own tighten
    assert [a.key.rsplit(":", 1)[1] for a in e.actions] == ["tighten_sl"]


def test_a_sell_trails_from_the_lowest_low() -> None:
    rec = replace(register(trade(direction="sell", sl=2010.0), None, T0), armed=True, seq=1)
    rec = replace(rec, last_bar_time=BAR - minutes(5))
    snap = scored(0.0, BAR, direction="sell")
    snap.trail = WINDOW
    (action,) = evaluate(rec, snap, quote(1994.0), NOW, SETTINGS, GOLD, AccountState()).actions
    assert action.params["stop_loss"] == pytest.approx(1995.0 + 2.75 * 2.0)


def test_settings_refuse_a_useless_trail() -> None:
    with pytest.raises(ValueError, match=r"trail\.atr_multiple"):
        DtmsSettings(trail=replace(SETTINGS.trail, atr_multiple=0.0))


def test_the_window_matches_a_plain_recomputation() -> None:
    import random

    rnd = random.Random(3)
    w = ChandelierWindow(5)
    bars: list[tuple[float, float, float]] = []
    price = 100.0
    for i in range(300):
        close = price + rnd.gauss(0.0, 1.0)
        high, low = max(price, close) + rnd.random(), min(price, close) - rnd.random()
        bars.append((high, low, close))
        price = close
        w.update(high, low, close)
        if i < 5:
            assert w.value is None
            continue
        last = bars[-5:]
        trs = [max(h, bars[j - 1][2]) - min(lo, bars[j - 1][2])
               for j, (h, lo, _) in enumerate(bars) if j >= len(bars) - 5]  # fmt: skip
        assert w.value == pytest.approx(
            (max(b[0] for b in last), min(b[1] for b in last), sum(trs) / 5)
        )


def trail_moves(rec: TradeRecord, answers: list[ActionResult]) -> tuple[TradeRecord, Action]:
    """One trail move a bar, its level a point higher each bar, answered by ``answers``
    in turn; the record after them and the last move."""
    for i, answer in enumerate(answers):
        bar = BAR + minutes(5 * i)
        snap = scored(0.0, bar)
        snap.trail = (2010.0 + i, 1995.0, 2.0)
        rec = replace(rec, last_bar_time=bar - minutes(5))
        e = evaluate(rec, snap, quote(2012.0), bar + minutes(5), SETTINGS, GOLD, AccountState())
        (action,) = e.actions
        rec = finish(begin(e.record, action, bar), action, answer, bar, SETTINGS)
    return rec, action


def test_the_journal_keeps_only_the_newest_settled_trail_move() -> None:
    rec, last = trail_moves(record(), [ActionResult(True, ResultCode.OK)] * 5)
    trail_keys = [j.key for j in rec.journal if ":trail@" in j.key]
    assert trail_keys == [last.key]  # the last bar's; a bar never comes back
    assert rec.stop_loss == pytest.approx(2014.0 - 2.75 * 2.0)


def test_a_refused_move_does_not_make_the_trail_forget_it_held_the_trade() -> None:
    """A move done, then the next bar's refused: the done one stays in the journal until
    a later move is done, so a level past the price is still the Chandelier's exit, not a
    young trade's level to wait for."""
    outcomes = [ActionResult(True, ResultCode.OK), ActionResult(False, ResultCode.REJECTED)]
    rec, _ = trail_moves(record(), outcomes)
    statuses = [j.status.value for j in rec.journal if ":trail@" in j.key]
    assert statuses == ["done", "failed"]
    later = replace(rec, last_bar_time=BAR + minutes(5))
    snap = scored(0.0, BAR + minutes(10))
    snap.trail = (2015.0, 1995.0, 2.0)  # the level 2009.5, past the limit at 2009.1
    e = evaluate(later, snap, quote(2009.2), BAR + minutes(15), SETTINGS, GOLD, AccountState())
    (action,) = e.actions
    assert action.params["stop_loss"] == pytest.approx(2008.9)  # the limit: the exit
