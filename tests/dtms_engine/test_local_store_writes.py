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


async def test_a_state_stamp_already_written_is_not_written_again(rig: Rig) -> None:
    """With the account's clock standing (a paper account with no new data, a closed
    market), every cycle wrote every open trade's state again with the value it already
    had: a thousand identical writes a cycle, for nothing the host could read."""
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket)
    await rig.cycles(4)
    spy = _Spy(rig.strategy.store)
    before = {t: rig.strategy.store.get_state(t) for t in (1, 2, 3)}
    for _ in range(3):  # the clock stands: the stamps are the ones already written
        await rig.strategy.on_cycle(rig.host, rig.clock.now())
    assert spy.names() == []
    assert {t: rig.strategy.store.get_state(t) for t in (1, 2, 3)} == before

    rig.clock.advance(timedelta(seconds=10))  # it moves: every stamp is new
    await rig.strategy.on_cycle(rig.host, rig.clock.now())
    assert spy.names() == ["put_states"] and sorted(spy.calls[0][1]) == [1, 2, 3]
    state = rig.strategy.store.get_state(1)
    assert state is not None and state[1] == rig.clock.now()


async def test_a_restart_or_a_store_error_stamps_the_states_again(rig: Rig) -> None:
    """What this process last wrote is all it knows: a new process, or a write the store
    refused, writes the stamps again even with the clock standing."""
    from dtms_plugin.store import StoreError

    for ticket in (1, 2):
        await rig.open_buy(ticket=ticket)
    await rig.cycles(4)
    rig.strategy.store.delete_state(2)  # gone meanwhile, as a store that lost it
    strategy = await rig.restart()
    await strategy.on_cycle(rig.host, rig.clock.now())
    assert strategy.store.get_state(2) is not None  # the new process stamped it again

    spy = _Spy(strategy.store)
    real = strategy.store.put_states
    failing = [True, True]  # the batch, then the states on their own: not written

    def refuse(*args: Any) -> Any:
        if failing.pop() if failing else False:
            raise StoreError("states refused (the test)")
        return real(*args)

    strategy.store.put_states = refuse  # type: ignore[method-assign]
    rig.clock.advance(timedelta(seconds=10))
    await strategy.on_cycle(rig.host, rig.clock.now())
    assert strategy.store.get_state(1)[1] < rig.clock.now()  # type: ignore[index]
    spy.calls.clear()
    await strategy.on_cycle(rig.host, rig.clock.now())  # standing: written, as never before
    assert sorted(t for name, arg in spy.calls if name == "put_states" for t in arg) == [1, 2]
    assert strategy.store.get_state(1)[1] == rig.clock.now()  # type: ignore[index]


async def test_a_trade_let_go_and_taken_back_is_stamped_again(rig: Rig) -> None:
    """A replica that lost a lease and took the trade back (server/replica_service.py:
    dropped from the book, then loaded from the store) may find a state another replica
    stamped meanwhile: its own stamp is written again, the clock standing or not."""
    from dtms_plugin.engine import TradeRecord

    for ticket in (1, 2):
        await rig.open_buy(ticket=ticket)
    await rig.cycles(4)
    book = rig.strategy.book
    data = rig.strategy.store.get_record(1)
    assert data is not None
    book.pop(1)  # between two cycles: its stamp is not pruned by a refresh without it
    book.put(TradeRecord.from_json(data))
    spy = _Spy(rig.strategy.store)
    await rig.strategy.on_cycle(rig.host, rig.clock.now())
    assert spy.calls == [("put_states", {1: "HEALTHY"})]
