"""ORDER_FILLING_RETURN: a market order that fills part leaves its rest working (MQL5
reference: "not canceled but processed further"); the adapter cancels the rest before it
reports what filled, so nothing fills later unseen (docs/mt5.md, "Filling mode")."""

from __future__ import annotations

from typing import Any

from hostapp_mt5.mt5_helpers import connect
from support.fake_mt5 import CONSTANTS, FakeMT5, FakeSymbol

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker

C = CONSTANTS


def _exchange(**kw: Any) -> tuple[FakeMT5, FakeSymbol, Mt5Broker]:
    """An exchange account (netting) whose SBER takes RETURN only, 40 lots in the book."""
    fake = FakeMT5(margin_mode=C["ACCOUNT_MARGIN_MODE_EXCHANGE"])
    sym = fake.add_symbol(FakeSymbol("SBER", bid=300.00, ask=300.02, digits=2, exemode=3,
                                     filling_mode=0, volume_step=1.0, volume_min=1.0,
                                     contract_size=10.0, liquidity=40.0))  # fmt: skip
    return fake, sym, connect(fake, server_utc_offset_minutes=180, **kw)


def test_the_fake_keeps_the_rest_of_a_return_order_working_until_it_fills() -> None:
    fake, sym, _ = _exchange()
    request = {"action": C["TRADE_ACTION_DEAL"], "symbol": "SBER", "volume": 100.0,
               "type": C["ORDER_TYPE_BUY"], "price": 300.02, "deviation": 10, "magic": 1,
               "comment": "", "type_time": C["ORDER_TIME_GTC"],
               "type_filling": C["ORDER_FILLING_RETURN"]}  # fmt: skip
    answer = fake.order_send(request)
    assert (answer.retcode, answer.volume) == (10010, 40.0)
    (rest,) = fake.orders_get(symbol="SBER")
    assert (rest.ticket, rest.volume_current) == (answer.order, 60.0)
    sym.liquidity = None  # the book refills
    fake.advance(6)
    assert fake.orders_get(symbol="SBER") == ()
    assert [p.volume for p in fake.positions.values()] == [100.0]
    assert sum(d.volume for d in fake.history_deals_get(ticket=answer.order)) == 100.0


def test_a_close_that_fills_part_cancels_the_rest_so_a_second_close_leaves_the_account_flat() -> (
    None
):
    """The rest of the first close (60 lots) filled after the second closed those 60: the
    account was left 60 lots short."""
    fake, sym, broker = _exchange()
    ticket = fake.add_position("SBER", C["ORDER_TYPE_BUY"], 100.0, 299.0, magic=240617)
    first = broker.close(ticket)
    assert first.code is ResultCode.TRANSIENT and first.filled_volume == 40.0
    assert "; the rest of order " in first.message and " was cancelled (10009 " in first.message
    assert first.message.endswith("only 40.0 of 100.0 lots closed, 60.0 still open")
    assert fake.orders_get(symbol="SBER") == ()
    sym.liquidity = None
    assert broker.close(ticket).ok
    fake.advance(60)
    assert fake.positions == {} and broker.needs_attention == []
    assert fake.requests[1] == {"action": C["TRADE_ACTION_REMOVE"], "order": fake.deals[0].order}


def test_an_open_that_fills_part_holds_what_it_reported() -> None:
    fake, _, broker = _exchange()
    r = broker.open(OrderRequest(symbol="SBER", direction="buy", volume=100.0, stop_loss=290.0))
    assert r.ok and r.filled_volume == 40.0
    assert r.message.endswith("; only 40.0 of 100.0 lots filled")
    fake.advance(60)
    assert [(p.volume, p.ticket) for p in fake.positions.values()] == [(40.0, r.new_ticket)]


def test_a_rest_that_filled_before_it_could_be_cancelled_is_counted() -> None:
    fake, sym, broker = _exchange()
    ticket = fake.add_position("SBER", C["ORDER_TYPE_BUY"], 100.0, 299.0, magic=240617)

    def the_rest_fills(f: FakeMT5) -> None:  # between the answer and the cancel
        sym.liquidity = None
        f.advance(6)

    fake.after_send.append(the_rest_fills)
    r = broker.close(ticket)
    assert r.ok and r.filled_volume == 100.0 and fake.positions == {}
    assert ", 100 lots filled in all" in r.message
    assert broker.needs_attention == []


def test_a_rest_that_may_still_work_is_flagged() -> None:
    fake, _, broker = _exchange()
    ticket = fake.add_position("SBER", C["ORDER_TYPE_BUY"], 100.0, 299.0, magic=240617)

    def orders_unreadable(f: FakeMT5) -> None:
        f.initialized = f.terminal_running = False  # every later call fails (-10004)

    fake.after_send.append(orders_unreadable)
    r = broker.close(ticket)
    assert r.code is ResultCode.TRANSIENT and r.filled_volume == 40.0
    assert "it may still fill; check the terminal (flagged for attention)" in r.message
    assert broker.needs_attention == [f"close {ticket} 100 of 100"]


def test_a_rest_gone_uncancelled_with_its_deals_not_yet_in_the_history_is_flagged() -> None:
    """The rest filled between the answer and the cancel, and the history lags behind
    (the fake's ``history_lag``): the cancel finds no such order, the order is no longer
    listed, and its deals show only the first 40 lots. Reported as "cancelled", the close
    read 40 lots where 100 went: it is flagged instead, the terminal to be checked."""
    fake, sym, broker = _exchange()
    ticket = fake.add_position("SBER", C["ORDER_TYPE_BUY"], 100.0, 299.0, magic=240617)

    def the_rest_fills_unseen(f: FakeMT5) -> None:
        sym.liquidity = None
        f.advance(6)  # the rest fills now
        f.history_lag = 30.0  # and the history shows none of it yet

    fake.after_send.append(the_rest_fills_unseen)
    r = broker.close(ticket)
    assert "is no longer listed but was not cancelled by us" in r.message, r.message
    assert "its deals show 40 of 100 lots" in r.message
    assert broker.needs_attention == [f"close {ticket} 100 of 100"]
    assert fake.positions == {}  # it did close all: the flag says to look
