"""One Redis store defends one account, and its replicas share one ``[plugin.dtms]``
(docs/scaling.md, "One account, one set of settings per Redis"), with real processes: a
replica of account A, live, and then ``dtms serve`` of another account B on the same
store URL, and of account A with other settings.

Before, both joined silently: B's replica consumed A's registrations and, once A's
replica died, took A's trades over and closed every one as "position gone at the broker";
the one with other settings defended its trades by other rules and leases 6x longer.
Now each is refused in one line (exit 2); and once A's replica is stopped, B's first
replica takes the store over as a directory store does: A's records archived, never
acted on.
"""

from __future__ import annotations

import time
from pathlib import Path

from support.e2e_procs import toml_config
from support.redis_server import RedisServer
from support.replica_procs import SYMBOL, cluster, open_positions, register, replicas, serve_refused

from dtms_plugin.store.redis_store import RedisStore


def _config(directory: Path, account: Path, url: str, **dtms: object) -> Path:
    directory.mkdir(exist_ok=True)
    return toml_config(
        directory / "plugins.toml",
        symbols=[SYMBOL],
        account_file=account,
        state_dir=directory / "unused-state",
        dtms={"store": url, "lease_seconds": 10.0, **dtms},
        host={"data": "builtin", "timeframe": "M5"},
    )


def test_another_account_or_other_settings_are_refused_while_a_replica_is_live(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url()
    with cluster(url, tmp_path / "a", trades=2, replicas_n=1, lease_seconds=10.0,
                 monitor_seconds=0.5) as c:  # fmt: skip
        for ticket in c.tickets:
            assert register(c.replicas[0].server.url, ticket).status_code == 201
        a_name = c.store.get_value("account")
        assert isinstance(a_name, dict) and a_name["identity"].startswith("paper ")
        (tmp_path / "b").mkdir()
        b_account = tmp_path / "b" / "account.db"
        open_positions(b_account, 2)
        code, said = serve_refused(_config(tmp_path / "b", b_account, url), tmp_path / "b.log")
        assert code == 2, said[-2000:]
        (line,) = [s for s in said.splitlines() if "defends the trades of account" in s]
        assert line.startswith(f"dtms: cannot start: store {url} defends the trades of account")
        assert a_name["identity"] in line and "paper " in line.split("'s account is", 1)[1]
        assert "another database number in the URL, …/1" in line and "dtms export" in line
        # other settings on account A: refused, naming each key that differs
        other = _config(tmp_path / "d", c.account, url, lease_seconds=60.0,
                        **{"trail.atr_multiple": 0.5, "rails.stop_streak": 50})  # fmt: skip
        code, said = serve_refused(other, tmp_path / "d.log")
        assert code == 2, said[-2000:]
        (line,) = [s for s in said.splitlines() if "settings differ" in s]
        assert "lease_seconds 10.0 → 60.0" in line
        assert "trail.atr_multiple 2.75 → 0.5" in line and "rails.stop_streak 3 → 50" in line
        assert "Traceback" not in said
        # nothing of A's moved meanwhile: its trades held by its replica, none closed
        assert c.owners() == [c.replicas[0].id] * 2
        assert all(c.store.get_record(t)["state"] != "CLOSED" for t in c.tickets)
    # A's replica stopped: B's first replica takes the store over, A's records archived
    with replicas(_config(tmp_path / "b", b_account, url), tmp_path / "b", 1,
                  monitor_seconds=0.5) as reps, RedisStore(url) as store:  # fmt: skip
        assert reps
        time.sleep(1.5)  # a few cycles: nothing of A's is acted on
        assert store.records() == {}
        for ticket in c.tickets:
            (kept,) = store.archived(ticket)
            assert kept["state"] != "CLOSED"  # archived as A's replica left it
        b_now = store.get_value("account")
        assert isinstance(b_now, dict) and b_now["identity"] != a_name["identity"]
    log = (tmp_path / "b" / "replica0.log").read_text()
    (said,) = [s for s in log.splitlines() if "held the trades of account" in s]
    assert "WARNING" in said and "its 2 records (open: " in said
