"""What the local strategy writes per cycle: a record only when the engine changed it, and
the state cache of all open trades in one batch.

(Kept beside the engine tests: it pins the engine's "same record object when nothing
moved" contract as the local strategy relies on it.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from support.dtms_local_rig import Rig


class _Spy:
    """Counts the store writes of one strategy, passing every call through."""

    def __init__(self, store: Any) -> None:
        self.calls: list[tuple[str, Any]] = []
        for name in ("put_record", "put_records", "put_state", "put_states"):
            real = getattr(store, name)

            def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
                self.calls.append((_name, args[0]))
                return _real(*args)

            setattr(store, name, spy)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


async def test_cycle_writes_changed_records_and_one_batch_of_states(rig: Rig) -> None:
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket)
    await rig.cycles(4)  # 20 minutes: armed by age, scored on every new bar since
    spy = _Spy(rig.strategy.store)

    # a cycle without a new closed bar: nothing moves, nothing but the state refresh
    rig.clock.advance(timedelta(seconds=10))
    await rig.strategy.on_cycle(rig.host, rig.clock.now())
    assert spy.names() == ["put_states"]
    assert sorted(spy.calls[0][1]) == [1, 2, 3]

    # a new closed bar: every armed trade is scored, its record written once
    spy.calls.clear()
    await rig.cycles(1)
    assert rig.transitions() == []  # the market has not turned yet: HEALTHY, no action
    assert spy.names() == ["put_records", "put_states"]  # each record serialised once
    assert sorted(spy.calls[0][1]) == [1, 2, 3]
    for ticket in (1, 2, 3):
        stored = rig.strategy.store.get_record(ticket)
        assert stored is not None
        assert stored["last_bar_time"] == rig.strategy.records[ticket].last_bar_time.isoformat()
        state = rig.strategy.store.get_state(ticket)
        assert state is not None and state[1] == rig.clock.now()
