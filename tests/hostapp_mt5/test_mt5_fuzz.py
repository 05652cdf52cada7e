"""Random sequences of opens, modifies, partial closes, hedges and closes against the unkind
fake (timeouts that executed now or seconds later, timeouts that did not, partial fills,
rewritten comments, split tickets, a lagging history).

Two properties hold after every step: the open volume per position that the adapter's
results add up to (``new_ticket`` and ``filled_volume``) equals the server's, and one
intent never executes more than one order, nor is sent again after an unanswered send.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import ActionResult, Direction, OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker

settings.register_profile(
    "mt5_fuzz",
    max_examples=60,
    deadline=None,  # the fake's clock moves, the wall clock is not under test
    suppress_health_check=[HealthCheck.too_slow],
)
FUZZ = settings.get_profile("mt5_fuzz")

SYMBOLS = ("XAUUSD", "EURUSD")  # FOK on Market execution; IOC on Market execution
#: What the next send meets. Late landings stay inside resolve_seconds (10 s), so every
#: executed deal is found; a send that never executed stays unknown and changes nothing.
FAULTS = st.sampled_from(
    [
        None,
        Fault(10012, execute=True),
        Fault(None, execute=True),
        Fault(10031, execute=True, delay=3.0),
        Fault(10012, execute=True, delay=7.5),
        Fault(10008, execute=True, delay=2.0),
        Fault(10012),
        Fault(None),
        Fault(10004),
    ]
)


@dataclass(frozen=True)
class Step:
    kind: str  # open, modify, partial, hedge, close
    pick: int  # which known position
    symbol: str
    side: Direction
    lots: float
    fault: Fault | None
    liquidity: float | None  # lots the book can fill (IOC fills part, FOK none)


STEPS = st.builds(
    Step,
    kind=st.sampled_from(["open", "open", "modify", "partial", "hedge", "close"]),
    pick=st.integers(0, 7),
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(["buy", "sell"]),
    lots=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.35]),
    fault=FAULTS,
    liquidity=st.sampled_from([None, None, 0.05, 0.15]),
)


def _run(broker: Mt5Broker, fake: FakeMT5, ticket: int | None, step: Step) -> ActionResult:
    for s in fake.symbols.values():
        s.liquidity = step.liquidity
    if step.kind == "open":
        return broker.open(OrderRequest(step.symbol, step.side, step.lots))
    if ticket is None:
        return ActionResult.failure(ResultCode.NOT_FOUND, "nothing open")
    if step.kind == "modify":
        p = fake.positions[ticket]
        s = fake.symbols[p.symbol]
        away = 600 * s.point  # a stop loss 600 points on the losing side
        sl = round(s.bid - away if p.type == 0 else s.ask + away, s.digits)
        return broker.modify_sl_tp(ticket, sl, None)
    if step.kind == "partial":
        return broker.close(ticket, step.lots)
    if step.kind == "hedge":
        return broker.hedge(ticket, step.lots)
    return broker.close(ticket)


def _account(view: dict[int, float], step: Step, ticket: int | None, r: ActionResult) -> None:
    """What the adapter's result says happened, applied to its view of the positions."""
    filled = r.filled_volume or 0.0
    if step.kind in ("open", "hedge") and filled > 0:
        assert r.new_ticket is not None, r.message
        view[r.new_ticket] = round(view.get(r.new_ticket, 0.0) + filled, 8)
    elif step.kind in ("partial", "close") and ticket is not None and filled > 0:
        view[ticket] = round(view[ticket] - filled, 8)


@pytest.mark.parametrize("remote", [False, True], ids=["namedtuples", "mt5linux proxies"])
@FUZZ
@given(
    steps=st.lists(STEPS, min_size=1, max_size=12),
    rewrite=st.booleans(),
    split=st.booleans(),
    lag=st.sampled_from([0.0, 2.0]),
)
def test_adapter_view_of_open_volume_matches_the_server(
    remote: bool, steps: list[Step], rewrite: bool, split: bool, lag: float
) -> None:
    fake = make_fake(remote=remote, comment_rewrite="broker#1" if rewrite else None,
                     split_tickets=split, history_lag=lag)  # fmt: skip
    fake.symbols["XAUUSD"].exemode = 2
    broker = connect(fake, magic=777, time_symbols=("XAUUSD",))
    view: dict[int, float] = {}
    for step in steps:
        tickets = sorted(t for t, v in view.items() if v > 1e-9)
        target = tickets[step.pick % len(tickets)] if tickets else None
        sent, dealt = len(fake.requests), len(fake.deals)
        if step.fault is not None:
            fake.faults.append(step.fault)
        r = _run(broker, fake, target, step)
        fake.faults.clear()
        for s in fake.symbols.values():
            s.liquidity = None
        _account(view, step, target, r)
        orders = {d.order for d in fake.deals[dealt:]}
        assert len(orders) <= 1, f"{step}: one intent executed orders {orders}"
        unanswered = step.fault is not None and step.fault.retcode in (None, 10008, 10012, 10031)
        if unanswered and step.kind != "modify":
            assert len(fake.requests) - sent <= 1, f"{step}: sent again after no answer"
        server = {t: p.volume for t, p in fake.positions.items()}
        mine = {t: v for t, v in view.items() if v > 1e-9}
        assert mine == pytest.approx(server), f"after {step}: {r}"
