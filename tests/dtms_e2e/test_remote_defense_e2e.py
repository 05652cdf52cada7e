"""End to end, with real processes: a paced paper host in remote mode, a ``dtms serve``
beside it on the same paper account file, and a scripted adverse price path.

The path (a CSV written here): a quiet zig-zag warm-up (the SMA example strategy sees no
cross in it: its fast and slow averages are equal to the bit), one bar up that makes the
strategy buy, then a steady slide. The host registers the buy with the server through its
outbox; the server reads the host's bars from the account file, arms the trade and walks
it down the ladder to a defensive state. The host's cache, refreshed each cycle by one
batch request, then holds that state: what its ``is_defensive`` answers, and so what the
exit manager is told before it would move a stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.e2e_procs import dtms_server, free_port, hostapp_run, toml_config, wait_for, write_csv

from dtms_plugin import defensive
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hostapp.testing import bars_from_closes

WARMUP = 700  # M5 bars: the engine's EMA(200) on M15 needs about 600
SLIDE = 120
STEP = 0.5
ENTRY_AT = datetime(2026, 3, 4, 10, tzinfo=UTC)  # London session
DEFENSIVE = {"WARNING_L2", "HEDGED"}


def _path() -> list[float]:
    closes = [2000.0 + 0.5 * (i % 2) for i in range(WARMUP)]  # exact binary fractions
    closes.append(2001.5)  # fast SMA above slow: the strategy buys at this close
    closes += [2001.5 - STEP * (i + 1) for i in range(SLIDE)]
    return closes


def test_a_remote_host_trade_is_defended_by_the_server(tmp_path: Path) -> None:
    start = ENTRY_AT - timedelta(minutes=5 * WARMUP)
    csv = write_csv(tmp_path / "XAUUSD.csv", bars_from_closes(_path(), start=start, spread=0.3))
    account = tmp_path / "account.db"
    port = free_port()

    def config(name: str, state_dir: Path, dtms: Mapping[str, object]) -> Path:
        return toml_config(
            tmp_path / name,
            symbols=["XAUUSD"],
            account_file=account,
            state_dir=state_dir,
            dtms=dtms,
            data={"XAUUSD": csv},
            host={"timeframe": "M5", "cycle_seconds": 0.03},
            # a wide initial stop (R = 40 ATR): the trade lives long enough to be defended
            plugins={"sma_strategy": {"sl_atr": 40.0, "tp_atr": 80.0}},
        )

    host_state = tmp_path / "host-state"
    server_cfg = config("server.toml", tmp_path / "server-state", {})
    remote = {"strategy": "remote", "api_url": f"http://127.0.0.1:{port}"}
    host_cfg = config("host.toml", host_state, remote)
    settings = DtmsSettings(state_dir=str(host_state))

    with dtms_server(server_cfg, port, monitor_seconds=0.05, log=tmp_path / "server.log") as server:
        report = tmp_path / "report"
        with hostapp_run(host_cfg, report, log=tmp_path / "host.out") as host:
            # the buy: the server knows it once the host's outbox delivered it
            registered = wait_for(
                lambda: server.json("/dtms/status")["trades"] >= 1 or host.poll() is not None,
                timeout=120,
                what="the host's trade registered at the server",
            )
            assert registered is True, (tmp_path / "host.out").read_text()[-3000:]
            ticket = 1  # the first position on a fresh account file

            seen: list[str] = []

            def host_says_defensive() -> bool:
                """The host's cache, read with the very function its is_defensive uses."""
                got = Store(str(host_state))
                try:
                    state = got.get_state(ticket)
                    if state is not None and (not seen or seen[-1] != state[0]):
                        seen.append(str(state[0]))
                    answer, _ = defensive.answer(got, ticket, datetime.now(UTC), settings)
                finally:
                    got.close()
                return answer or host.poll() is not None

            assert wait_for(host_says_defensive, timeout=120, what="a defensive state at the host")
            assert host.poll() is None, "the host ended before its cache showed a defensive state"
            assert seen[-1] in DEFENSIVE, seen
            view = server.json(f"/dtms/trade/{ticket}")
            history = server.json("/dtms/actions", ticket=ticket, limit=100)["actions"]
        host_rc = host.returncode

    print(f"\nhost cache states seen for ticket {ticket}: {seen}; server: {view['state']}")
    changes = [e["to"] for e in history if e.get("type") == "state_change"]
    assert changes[:2] == ["WARNING_L1", "WARNING_L2"], changes
    assert view["defensive"] is True or view["state"] == "CLOSED"
    assert host_rc in (0, 130), (tmp_path / "host.out").read_text()[-3000:]
    host_log = (report / "hostapp.log").read_text()
    assert "DTMS strategy: remote" in host_log
    assert "sma_strategy: buy XAUUSD" in host_log
