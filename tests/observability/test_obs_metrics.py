"""``GET /metrics``: names, labels and values after scripted events, per-app registries,
auth, and bounded route labels."""

from __future__ import annotations

from typing import Any

from observability.obs_rig import AUTH, MakeRig, Move, open_ticket
from prometheus_client.parser import text_string_to_metric_families

from dtms_plugin.metrics import ClientMetrics
from dtms_plugin.store import Store
from hookspecs import ActionKind, DefensiveState


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(rig: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await rig.client.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    return samples(await resp.text())


async def test_metrics_count_states_transitions_actions_cycles_and_requests(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    a, b = open_ticket(rig.world), open_ticket(rig.world)
    await rig.register(a)
    await rig.register(b)
    await rig.register(b, status=200)  # already registered: counted apart
    price = rig.world.price("XAUUSD")
    rig.puppet.moves = [
        Move(a, DefensiveState.WARNING_L2, -4.0, ActionKind.TIGHTEN_SL, {"stop_loss": price - 5}),
        Move(b, DefensiveState.WARNING_L1, -1.5),
    ]
    await rig.cycle()
    assert (await rig.client.get("/dtms/trade/999", headers=AUTH)).status == 404
    assert (await rig.client.get("/no/such/path/123", headers=AUTH)).status == 404
    assert (await rig.client.get("/dtms/status")).status == 401

    got = await scrape(rig)

    assert got[("dtms_trades", (("state", "WARNING_L2"),))] == 1
    assert got[("dtms_trades", (("state", "WARNING_L1"),))] == 1
    assert got[("dtms_trades", (("state", "HEALTHY"),))] == 0
    assert got[("dtms_transitions_total", (("from", "HEALTHY"), ("to", "WARNING_L2")))] == 1
    assert got[("dtms_transitions_total", (("from", "HEALTHY"), ("to", "WARNING_L1")))] == 1
    assert got[("dtms_actions_total", (("kind", "tighten_sl"), ("result", "ok")))] == 1
    assert got[("dtms_registrations_total", (("outcome", "created"),))] == 2
    assert got[("dtms_registrations_total", (("outcome", "already_registered"),))] == 1
    # the start-up cycle and the scripted one
    assert got[("dtms_evaluation_seconds_count", ())] == 2
    route = (("method", "GET"), ("route", "/dtms/trade/{ticket}"), ("status", "404"))
    assert got[("dtms_http_requests_total", route)] == 1
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert got[("dtms_http_requests_total", unmatched)] == 1
    unauthorised = (("method", "GET"), ("route", "/dtms/status"), ("status", "401"))
    assert got[("dtms_http_requests_total", unauthorised)] == 1
    enable = (("method", "POST"), ("route", "/dtms/trade/enable"), ("status", "201"))
    assert got[("dtms_http_requests_total", enable)] == 2
    routes = {dict(labels)["route"] for name, labels in got if name == "dtms_http_requests_total"}
    assert not any("999" in r or "123" in r for r in routes)


async def test_each_app_has_its_own_registry(make_rig: MakeRig) -> None:
    first = await make_rig()
    second = await make_rig()
    ticket = open_ticket(first.world)
    await first.register(ticket)
    created = ("dtms_registrations_total", (("outcome", "created"),))
    assert (await scrape(first))[created] == 1
    assert (await scrape(second)).get(created, 0) == 0


async def test_metrics_want_the_token_and_the_page_does_not(make_rig: MakeRig) -> None:
    rig = await make_rig()
    assert (await rig.client.get("/metrics")).status == 401
    page = await rig.client.get("/")
    assert page.status == 200
    assert page.content_type == "text/html"
    assert "<title>DTMS dashboard</title>" in await page.text()
    for asset, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        resp = await rig.client.get(f"/static/{asset}")
        assert (resp.status, resp.content_type) == (200, kind)


async def test_the_page_and_its_assets_may_not_be_framed(make_rig: MakeRig) -> None:
    """A page of another site that frames the dashboard could trick the trader into
    clicking on it (clickjacking); the page loads only its own files."""
    rig = await make_rig()
    for path in ("/", "/static/dashboard.js", "/static/dashboard.css"):
        resp = await rig.client.get(path)
        assert resp.status == 200, path
        assert resp.headers["X-Frame-Options"] == "DENY", path
        policy = [p.strip() for p in resp.headers["Content-Security-Policy"].split(";")]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, path


def test_client_metrics_read_the_outbox_at_scrape_and_count_retries(tmp_path: Any) -> None:
    with Store(str(tmp_path / "state")) as store:
        metrics = ClientMetrics(store)
        store.outbox_put(7, {"ticket": 7})
        store.outbox_put(8, {"ticket": 8})
        metrics.registration_retry()
        got = samples(metrics.render().decode())
        assert got[("dtms_client_outbox_depth", ())] == 2
        assert got[("dtms_client_registration_retries_total", ())] == 1
        store.outbox_remove(7)
        assert samples(metrics.render().decode())[("dtms_client_outbox_depth", ())] == 1
