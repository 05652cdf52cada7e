"""Every branch of ``defensive.answer`` (docs/dtms.md §9), with an injected ``now``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dtms_plugin.defensive import answer
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SETTINGS = DtmsSettings(fresh_seconds=10.0, last_known_seconds=30.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "dtms")
    yield s
    s.close()


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_absent_is_not_defensive_and_needs_refresh(store: Store) -> None:
    assert answer(store, 7, NOW, SETTINGS) == (False, True)


@pytest.mark.parametrize(
    ("state", "defensive"),
    [
        ("HEALTHY", False),
        ("WARNING_L1", False),
        ("WARNING_L2", True),
        ("HEDGED", True),
        ("RECOVERING", False),
        ("CLOSED", False),
        ("SOMETHING_NEW", False),
    ],
)
def test_fresh_answers_the_cached_state(store: Store, state: str, defensive: bool) -> None:
    store.put_state(7, state, _ago(3))
    assert answer(store, 7, NOW, SETTINGS) == (defensive, False)


@pytest.mark.parametrize("age", [0.0, 10.0])
def test_fresh_boundaries(store: Store, age: float) -> None:
    store.put_state(7, "HEDGED", _ago(age))
    assert answer(store, 7, NOW, SETTINGS) == (True, False)


@pytest.mark.parametrize("age", [10.001, 20.0, 30.0])
def test_last_known_answers_and_asks_refresh(store: Store, age: float) -> None:
    store.put_state(7, "WARNING_L2", _ago(age))
    store.put_state(8, "HEALTHY", _ago(age))
    assert answer(store, 7, NOW, SETTINGS) == (True, True)
    assert answer(store, 8, NOW, SETTINGS) == (False, True)


@pytest.mark.parametrize("age", [30.001, 3600.0])
def test_stale_falls_back_to_not_defensive(store: Store, age: float) -> None:
    store.put_state(7, "HEDGED", _ago(age))
    assert answer(store, 7, NOW, SETTINGS) == (False, True)


def test_not_managed_while_fresh_needs_nothing(store: Store) -> None:
    store.put_state(7, None, _ago(5))
    assert answer(store, 7, NOW, SETTINGS) == (False, False)


def test_not_managed_but_old_asks_refresh(store: Store) -> None:
    store.put_state(7, None, _ago(20))
    assert answer(store, 7, NOW, SETTINGS) == (False, True)
    store.put_state(7, None, _ago(100))
    assert answer(store, 7, NOW, SETTINGS) == (False, True)


def test_account_mode_makes_every_ticket_defensive(store: Store) -> None:
    store.put_state(7, "HEALTHY", _ago(1))
    store.put_account_mode(NOW + timedelta(minutes=30), "daily loss")
    assert answer(store, 7, NOW, SETTINGS) == (True, False)
    assert answer(store, 99, NOW, SETTINGS) == (True, False)


def test_expired_account_mode_is_ignored(store: Store) -> None:
    store.put_state(7, "HEALTHY", _ago(1))
    store.put_account_mode(NOW, "streak")  # until == now: over
    assert answer(store, 7, NOW, SETTINGS) == (False, False)
    store.put_account_mode(NOW - timedelta(seconds=1), "streak")
    assert answer(store, 99, NOW, SETTINGS) == (False, True)


def test_thresholds_come_from_settings(store: Store) -> None:
    tight = DtmsSettings(fresh_seconds=1.0, last_known_seconds=2.0)
    store.put_state(7, "HEDGED", _ago(1.5))
    assert answer(store, 7, NOW, tight) == (True, True)
    store.put_state(7, "HEDGED", _ago(2.5))
    assert answer(store, 7, NOW, tight) == (False, True)
