from support.fake_mt5 import FakeMT5

from hookspecs import OrderRequest
from hostapp.brokers.mt5 import Mt5Broker


def test_open_then_list(broker: Mt5Broker, fake: FakeMT5) -> None:
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0))
    assert r.ok, r.message
    assert [t.ticket for t in broker.positions()] == [r.new_ticket]
