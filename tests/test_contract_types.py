"""The data types validate themselves and name the bad field."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hookspecs import Action, ActionKind, Bar, DataError, DefensiveState, Trade, parse_direction

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def make_trade(**kw: object) -> Trade:
    base: dict[str, object] = dict(
        ticket=1,
        symbol="XAUUSD",
        direction="buy",
        volume=0.1,
        entry_price=2000.0,
        stop_loss=1990.0,
        take_profit=None,
        opened_at=T0,
    )
    base.update(kw)
    return Trade(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ticket", 0),
        ("ticket", "7"),
        ("ticket", True),
        ("direction", "BUY"),
        ("volume", 0.0),
        ("volume", float("nan")),
        ("entry_price", -1.0),
        ("opened_at", datetime(2026, 1, 5, 10, 0)),
        ("opened_at", datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_trade_rejects_bad_field_naming_it(field: str, value: object) -> None:
    with pytest.raises(DataError, match=field):
        make_trade(**{field: value})


def test_trade_is_frozen_and_signed() -> None:
    trade = make_trade(direction="sell")
    assert trade.sign == -1
    with pytest.raises(AttributeError):
        trade.volume = 1.0  # type: ignore[misc]


def test_parse_direction_any_case_only_buy_or_sell() -> None:
    assert parse_direction(" Sell ") == "sell"
    assert parse_direction("BUY") == "buy"
    with pytest.raises(DataError, match="direction"):
        parse_direction("long")


def test_bar_rejects_high_below_close() -> None:
    with pytest.raises(DataError, match="high/low"):
        Bar(T0, open=10, high=10.5, low=9.5, close=11)


def test_action_needs_key_and_known_kind() -> None:
    assert Action(1, "hedge", {"volume": 0.1}, key="1:3:hedge").kind is ActionKind.HEDGE  # type: ignore[arg-type]
    with pytest.raises(DataError, match="kind"):
        Action(1, "explode", key="k")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="key"):
        Action(1, ActionKind.CLOSE)


def test_defensive_states() -> None:
    assert {s for s in DefensiveState if s.defensive} == {
        DefensiveState.WARNING_L2,
        DefensiveState.HEDGED,
    }
