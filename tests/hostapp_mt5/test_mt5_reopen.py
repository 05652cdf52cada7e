"""A position the trade server re-opened under a new ticket (a swap charged so: MQL5
reference, POSITION_TICKET) is the same position to the broker's callers: its identifier
is its ticket, its trade's entry and opening stay, and every request reaches the ticket
it has now (hostapp/brokers/mt5_positions.py). Its close is its trade's: the re-open's
close and open are no part of it, their result is (hostapp/brokers/mt5_reopen.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import Action, ActionKind, OrderRequest, ResultCode, apply_action
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.brokers.mt5_reopen import service_deals


def _quote(fake: FakeMT5, bid: float) -> None:
    s = fake.symbols["XAUUSD"]
    s.bid, s.ask = bid, round(bid + 0.3, 2)


def _opened(broker: Mt5Broker, fake: FakeMT5, volume: float = 0.2) -> int:
    """A buy at 2000.30 with its stop at 1990.30 (risk 10.0 a lot), opened by an order."""
    opened = broker.open(OrderRequest("XAUUSD", "buy", volume, stop_loss=1990.3))
    assert opened.ok and opened.new_ticket is not None
    return opened.new_ticket


def test_a_re_opened_position_keeps_its_ticket_entry_and_opening(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = _opened(broker, fake)
    (before,) = broker.positions()
    _quote(fake, 2006.0)
    fake.advance(3600)
    new = fake.reopen(ticket, swap=-1.5)
    assert new != ticket and fake.positions[new].price_open == 2006.0
    (after,) = broker.positions()
    assert after.ticket == ticket and broker.position(ticket) == after
    assert (after.entry_price, after.opened_at, after.stop_loss) == (
        before.entry_price, before.opened_at, 1990.3,
    )  # fmt: skip
    assert after.profit == 0.0  # the terminal's: the open lots' since the re-open
    assert broker.position(new) is None  # a ticket of the moment is no position's identity


def test_requests_name_the_ticket_the_position_has_now(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = _opened(broker, fake, 0.3)
    _quote(fake, 2006.0)
    new = fake.reopen(ticket)
    del fake.requests[:]
    tighten = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, key="t")
    half = Action(ticket, ActionKind.PARTIAL_CLOSE, {"volume": 0.1}, key="p")
    assert apply_action(broker, tighten).ok and apply_action(broker, half).ok
    assert fake.positions[new].sl == 1995.0 and fake.positions[new].volume == 0.2
    newer = fake.reopen(new)  # the next night's
    assert apply_action(broker, Action(ticket, ActionKind.CLOSE, key="c")).ok
    assert [r["position"] for r in fake.requests] == [new, new, newer]
    assert fake.positions == {}


def test_a_re_open_between_the_read_and_the_send_is_followed(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The server re-opens the position after the broker read its ticket: the request
    names a ticket gone (10036), and a close took that for "already closed" while the
    position stayed open under its new ticket, undefended."""
    ticket = _opened(broker, fake)
    moved: list[int] = []
    fake.before_send.append(lambda f: moved.append(f.reopen(ticket)))
    assert apply_action(broker, Action(ticket, ActionKind.CLOSE, key="c")).ok
    assert fake.positions == {}
    assert [r["position"] for r in fake.requests[1:]] == [ticket, moved[0]]


def test_a_modify_follows_a_re_open_between_the_read_and_the_send(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = _opened(broker, fake)
    moved: list[int] = []
    fake.before_send.append(lambda f: moved.append(f.reopen(ticket)))
    assert broker.modify_sl_tp(ticket, 1995.0, None).ok
    assert fake.positions[moved[0]].sl == 1995.0


def test_a_lost_close_answer_is_not_taken_from_the_re_opens_close(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The close's answer is lost (10012) and it never executed, while the server
    re-opened the position: the re-open's closing deal (same side, magic and position)
    was taken for the close's fill, "found on the server", the position left open."""
    ticket = _opened(broker, fake)
    fake.before_send.append(lambda f: f.reopen(ticket))
    fake.faults.append(Fault(10012, execute=True))  # names the old ticket: 10036, unsaid
    result = broker.close(ticket)
    assert result.code is ResultCode.UNKNOWN_OUTCOME and not result.ok
    assert broker.position(ticket) is not None


def test_a_lost_open_answer_is_not_taken_from_a_re_opened_position(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """An open's answer is lost (10012) and it never executed, while the server
    re-opened a position of the same symbol, side and magic: that position's new ticket,
    not open before the send, was taken for the open's fill, a second trade announced."""
    ticket = _opened(broker, fake)
    fake.before_send.append(lambda f: f.reopen(ticket))
    fake.faults.append(Fault(10012))
    result = broker.open(OrderRequest("XAUUSD", "buy", 0.2, stop_loss=1990.3))
    assert result.code is ResultCode.UNKNOWN_OUTCOME and result.new_ticket is None
    assert [t.ticket for t in broker.positions()] == [ticket]


def _parts(broker: Mt5Broker, ticket: int) -> list[tuple[float, float, float, float]]:
    parts = broker.closing_parts(ticket) or []
    return [(p.volume, p.entry_price, p.close_price or 0.0, p.profit) for p in parts]


def test_its_close_is_the_trades_with_every_deals_result(broker: Mt5Broker, fake: FakeMT5) -> None:
    """Opened at 2000.30, re-opened at 2006.0 (+114.0 booked, swap -1.5), half closed at
    2010.0 (+40.0 from the re-open), the rest at 1996.0 (-100.0 from the re-open): the
    trade made (2010.0 - 2000.3) × 10 + (1996.0 - 2000.3) × 10 = +54.0, less the swap.
    The re-open's close was counted as a part of the trade (its own R), and both parts
    from an entry averaged over the open and the re-open."""
    ticket = _opened(broker, fake)
    _quote(fake, 2006.0)
    fake.reopen(ticket, swap=-1.5)
    _quote(fake, 2010.0)
    assert broker.close(ticket, 0.1).ok
    assert broker.closed_trade(ticket) is None  # half of it still open
    _quote(fake, 1996.0)
    assert broker.close(ticket).ok
    closed = broker.closed_with_reason(ticket)
    assert closed is not None
    trade, _ = closed
    assert trade.profit == round(sum(d.profit + d.swap for d in fake.deals), 2) == 52.5
    assert (trade.entry_price, trade.volume, trade.close_price) == (2000.3, 0.1, 1996.0)
    # each part its own move from the entry, the re-open's +114.0 - 1.5 shared by the lots
    assert _parts(broker, ticket) == [(0.1, 2000.3, 2010.0, 96.25), (0.1, 2000.3, 1996.0, -43.75)]


def test_a_re_open_whose_open_the_history_does_not_show_yet_is_no_close(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = _opened(broker, fake)
    fake.reopen(ticket)
    reopened = fake.deals.pop()  # the terminal's history has the close, not the open yet
    assert broker.closed_with_reason(ticket) is None
    fake.deals.append(reopened)
    assert broker.closed_with_reason(ticket) is None


def test_on_a_netting_account_the_identifier_is_the_position_too() -> None:
    """A netting symbol's position re-opened, then grown and closed: the order's words
    and result name the position by its identity, its entry the trade's average."""
    fake = make_fake(margin_mode=0)
    broker = connect(fake, time_symbols=("XAUUSD",))
    ticket = _opened(broker, fake, 0.1)  # at 2000.30
    _quote(fake, 2010.0)
    new = fake.reopen(ticket)
    _quote(fake, 2020.0)
    added = broker.open(OrderRequest("XAUUSD", "buy", 0.1))  # at 2020.30
    assert (added.netting, added.new_ticket) == ("added", ticket)
    assert added.message.endswith(f"; added 0.1 to {ticket}")
    (pos,) = broker.positions()
    # the server averaged the re-open's price: (2010.0 + 2020.3) / 2; the trade's entry
    # is its own orders': (2000.3 + 2020.3) / 2
    assert fake.positions[new].price_open == 2015.15
    assert (pos.ticket, pos.volume, pos.entry_price) == (ticket, 0.2, 2010.3)
    closed = broker.open(OrderRequest("XAUUSD", "sell", 0.2))
    assert (closed.netting, closed.new_ticket) == ("closed", None)
    assert closed.message.endswith(f"; closed {ticket} (netting)")
    trade = broker.closed_trade(ticket)
    assert trade is not None and trade.profit == round(sum(d.profit for d in fake.deals), 2)


def _deal(ticket: int, entry: int, lots: float, reason: int) -> dict[str, Any]:
    return {"ticket": ticket, "entry": entry, "volume": lots, "reason": reason}


@pytest.mark.parametrize(
    ("reasons", "service"),
    [
        ((7, 7), {2, 3}),  # DEAL_REASON_ROLLOVER: a swap charged by re-opening
        ((8, 8), {2, 3}),  # DEAL_REASON_VMARGIN: an exchange's clearing
        ((3, 3), {2, 3}),  # any reason: a closed identifier never opens again but so
        ((9, 9), set()),  # DEAL_REASON_SPLIT: the new price and lots are the position's
    ],
)
def test_a_service_pair_is_a_close_that_emptied_the_position_and_the_open_after_it(
    reasons: tuple[int, int], service: set[int]
) -> None:
    out, back = reasons
    deals = [_deal(1, 0, 1.0, 3), _deal(2, 1, 1.0, out), _deal(3, 0, 1.0, back)]
    assert service_deals(deals) == service
    assert service_deals([*deals, _deal(4, 1, 0.4, 3), _deal(5, 1, 0.6, 4)]) == service


def test_a_rollover_close_whose_open_is_not_in_view_yet_is_one_too() -> None:
    assert service_deals([_deal(1, 0, 1.0, 3), _deal(2, 1, 1.0, 7)]) == {2}
    assert service_deals([_deal(1, 0, 1.0, 3), _deal(2, 1, 1.0, 4)]) == set()  # its stop
