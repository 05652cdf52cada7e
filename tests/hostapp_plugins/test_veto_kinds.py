"""A veto's kind (``hookspecs.Veto``): what the run's summary counts vetoes by, while the
log says each reason. ``allow_order`` answers the reason alone (plugin authors' tests
compare it with a string); ``veto`` carries the kind too."""

from __future__ import annotations

from typing import Any

import pytest
from support.hostapp_plugin_doubles import Raiser, Recorder

from hookspecs import DataError, OrderRequest, Veto

ORDER = OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2020.0)


def test_a_veto_has_a_kind_the_summary_counts_it_by(hostapp_factory: Any) -> None:
    """``allow_order`` still answers the reason (plugin authors' tests compare it); the
    loop asks ``veto``, which also carries the kind: the reason itself for a plain
    string, the plugin's for a :class:`Veto`, both named with the plugin."""
    dated = Veto("account mode until 2024-01-02T00:00:00+00:00: 3 stops", "account mode")
    host = hostapp_factory({"a": Recorder(), "g": Recorder(allow_order=dated)})
    assert host.plugins.allow_order(host, ORDER) == (
        "g: account mode until 2024-01-02T00:00:00+00:00: 3 stops"
    )
    assert host.plugins.veto(host, ORDER) == Veto(
        "g: account mode until 2024-01-02T00:00:00+00:00: 3 stops", "g: account mode", "g"
    )
    plain = hostapp_factory({"g": Recorder(allow_order="too big")})
    assert plain.plugins.veto(plain, ORDER) == Veto("g: too big", "g: too big", "g")
    assert hostapp_factory({"a": Recorder()}).plugins.veto(host, ORDER) is None
    # a crash is a kind of its own, whatever the error says
    crashed = hostapp_factory({"z": Raiser()})
    veto = crashed.plugins.veto(crashed, ORDER)
    assert veto is not None and veto.reason.startswith("z: allow_order failed (Boom")
    assert veto.kind == "z: allow_order failed, so it vetoes (fails closed)"


@pytest.mark.parametrize("field", ["reason", "kind"])
def test_a_veto_without_a_reason_or_a_kind_is_refused(field: str) -> None:
    parts = {"reason": "too big", "kind": "size", field: " "}
    with pytest.raises(DataError, match=f"Veto.{field}: expected a non-empty string"):
        Veto(**parts)
