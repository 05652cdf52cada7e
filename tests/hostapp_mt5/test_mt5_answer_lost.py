"""``order_send`` raises over mt5linux when the bridge loses the answer after the terminal
had the request (the connection died, rpyc's call timeout expired): the "no answer" path
that looks for the deal on the server, never sending it again, and flags it when it stays
unknown (docs/mt5.md, "What happens when the terminal does not answer")."""

from __future__ import annotations

import asyncio
from typing import Any

from hostapp_mt5.mt5_helpers import live_app, make_fake
from support.fake_mt5 import mt5linux_module

from hookspecs import OrderRequest, ResultCode, hookimpl
from hostapp.brokers.mt5 import Mt5Settings, create_mt5_broker
from hostapp.driving import drive

SETTINGS = Mt5Settings(module="mt5linux", server_utc_offset_minutes=120)
ORDER = OrderRequest(symbol="XAUUSD", direction="buy", volume=0.1, stop_loss=1990.0)


def test_an_open_whose_answer_timed_out_is_found_on_the_server() -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    broker = create_mt5_broker(SETTINGS, module=module, clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    module.bridge.lose_next("order_send", drop=False)
    r = broker.open(ORDER)  # raised TimeoutError before
    (ticket,) = fake.positions
    assert r.ok and r.new_ticket == ticket and r.filled_volume == 0.1
    assert r.message == (
        "open buy 0.1 XAUUSD: no answer: order_send raised TimeoutError: result expired; "
        "found on the server"
    )
    assert len(fake.requests) == 1 and broker.needs_attention == []


def test_an_open_whose_connection_died_is_flagged_and_never_sent_again() -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    broker = create_mt5_broker(SETTINGS, module=module, clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    module.bridge.lose_next("order_send", drop=True)
    r = broker.open(ORDER)  # raised EOFError before, with nothing flagged
    assert r.code is ResultCode.UNKNOWN_OUTCOME
    assert r.message.startswith(
        "open buy 0.1 XAUUSD: no answer: order_send raised EOFError: connection closed by "
        "peer; the records could not be re-read (EOFError: stream has been closed); "
    )
    assert r.message.endswith("check the terminal (flagged for attention)")
    assert len(fake.requests) == 1 and len(fake.positions) == 1  # it did execute
    assert broker.needs_attention == ["open buy 0.1 XAUUSD"]  # the history unreadable now
    broker.reconnect()  # a new client: the history says what became of it
    (said,) = broker.needs_attention
    assert said.startswith("open buy 0.1 XAUUSD: executed since (0.1 lots, deal ")


class OpensOnce:
    """Opens once, at the first closed bar; stops after cycle 4."""

    def __init__(self) -> None:
        self.executed: list[int] = []
        self.cycles = 0
        self.sent = False
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.sent:
            return []
        self.sent = True
        return [ORDER]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.executed.append(trade.ticket)

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 4:
            self.stop()


async def test_the_live_loop_hears_of_a_trade_whose_answer_was_lost() -> None:
    """The cycle was skipped and the position swept up later, no plugin told of it."""
    fake = make_fake()
    module = mt5linux_module(fake)
    module.bridge.lose_next("order_send", drop=False)
    plugin = OpensOnce()
    app = live_app(fake, {"opens": plugin}, api=module, module="mt5linux")
    plugin.stop = app.loop.request_stop
    stats = await asyncio.wait_for(drive(app, progress=None), 30)
    assert plugin.executed == list(fake.positions) and len(plugin.executed) == 1
    assert stats.cycles_skipped == 0 and len(stats.entries) == 1


def test_a_stop_change_whose_answer_timed_out_is_verified_on_the_position() -> None:
    fake = make_fake()
    module = mt5linux_module(fake)
    broker = create_mt5_broker(SETTINGS, module=module, clock=lambda: fake.now,
                               sleep=fake.advance)  # fmt: skip
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1995.0, sl=1980.0, magic=240617)
    module.bridge.lose_next("order_send", drop=False)
    r = broker.modify_sl_tp(ticket, 1985.0, None)  # raised TimeoutError before
    assert r.ok and fake.positions[ticket].sl == 1985.0
    assert r.message.endswith("(after order_send raised TimeoutError: result expired)")
    assert len(fake.requests) == 1  # the levels were seen set: not sent again
