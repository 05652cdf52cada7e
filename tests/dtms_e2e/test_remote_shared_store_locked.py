"""A remote host beside a ``dtms serve`` on one folder (the same plugins.toml, the same
``[plugin.dtms] state_dir``: README.md), while another writer holds the folder's database
past the store's lock wait (tests/support/locked_store.py: a real SQLite lock).

Each write of the host's state cache waited the store's 5 s for the lock, on the event
loop: the host said ``plugin dtms: on_cycle failed: Overran: came back … after its 5 s
deadline: it held the event loop …`` and counted it towards DTMS's breaker (five cycles in
a row switch DTMS off, and its ``allow_order`` then vetoes every entry). Now the remote
strategy's writes wait at most its own short lock wait (dtms_plugin/remote.py,
docs/dtms.md §9): its hooks come back in time, and the log says the cause once per
episode, naming the folder and the DTMS engine its engine.lock names, then when writes go
through again. Real processes: ``dtms serve`` and ``hostapp run --live``."""

from __future__ import annotations

import time
from pathlib import Path

from support.e2e_procs import dtms_server, free_port, hostapp_run, toml_config, wait_for
from support.locked_store import locked

HELD_SECONDS = 12.0
GOES_THROUGH = "writes go through again, after"


def test_a_remote_host_says_its_shared_folder_locked_once_and_keeps_its_deadlines(
    tmp_path: Path,
) -> None:
    account = tmp_path / "account.db"
    shared = tmp_path / "dtms"
    port = free_port()

    def config(name: str, **dtms: object) -> Path:
        return toml_config(
            tmp_path / name, symbols=["XAUUSD"], account_file=account, state_dir=shared,
            dtms=dtms, host={"cycle_seconds": 0.5},
        )  # fmt: skip

    server_cfg = config("server.toml")
    # fresh_seconds = 1: the idle host asks the server's account mode each second and
    # writes it to its state cache (no trade needed for a write every cycle or two)
    host_cfg = config("host.toml", strategy="remote", api_url=f"http://127.0.0.1:{port}",
                      fresh_seconds=1)  # fmt: skip
    report = tmp_path / "report"
    log = report / "hostapp.log"
    with dtms_server(server_cfg, port, monitor_seconds=3600, log=tmp_path / "server.log") as server:
        with hostapp_run(host_cfg, report, log=tmp_path / "host.out") as host:
            wait_for(
                lambda: (
                    host.poll() is not None
                    or (log.exists() and "DTMS strategy: remote" in log.read_text())
                ),
                timeout=60,
                what="the remote host's start",
            )
            assert host.poll() is None, (tmp_path / "host.out").read_text()[-3000:]
            time.sleep(2)
            with locked(shared):
                time.sleep(HELD_SECONDS)
            # writes go through again: at the host's next write, which a loaded machine
            # can put seconds after the lock is let go
            try:
                wait_for(
                    lambda: host.poll() is not None or GOES_THROUGH in log.read_text(),
                    timeout=60,
                    what="the host's writes to go through again",
                )
            except AssertionError as exc:  # what the host said meanwhile
                raise AssertionError(f"{exc}: {log.read_text()[-3000:]}") from None
        said = log.read_text()
        engine = server.proc.pid

    lines = said.splitlines()
    # the host's deadlines kept: no call came back late, none counted as DTMS's failure
    assert "Overran" not in said and "held the event loop" not in said, said[-3000:]
    assert not [ln for ln in lines if "plugin dtms" in ln and "failed" in ln], said[-3000:]
    # the cause, once for the episode: the folder, locked, by what its engine.lock names
    starts = [ln for ln in lines if f"store {shared}: writing" in ln and " ERROR " in ln]
    assert len(starts) == 1, said[-3000:]
    assert "database locked by another writer past the timeout" in starts[0]
    assert f"; its engine.lock names pid {engine}, the DTMS engine on this folder" in starts[0]
    assert "(said once until a write goes through)" in starts[0]
    ends = [ln for ln in lines if f"store {shared}: {GOES_THROUGH}" in ln]
    assert len(ends) == 1 and " WARNING " in ends[0], said[-3000:]
