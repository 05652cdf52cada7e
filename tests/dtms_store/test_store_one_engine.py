"""One engine per directory store: a second ``dtms serve`` (or a host's local engine) on
the same ``state_dir`` would evaluate and act on every trade a second time and overwrite
the first one's outcomes. It is refused in one line; a killed engine leaves no stale
lock behind."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from support.e2e_procs import command, dtms_server, toml_config
from support.ports import free_port


def test_a_second_engine_on_the_store_is_refused_and_a_killed_one_leaves_no_lock(
    tmp_path: Path,
) -> None:
    state = tmp_path / "dtms"
    config = toml_config(
        tmp_path / "plugins.toml", symbols=["XAUUSD"], account_file=tmp_path / "account.db",
        state_dir=state,
    )  # fmt: skip
    first_port = free_port()
    with dtms_server(config, first_port, monitor_seconds=0.5, log=tmp_path / "a.log") as first:
        second = subprocess.run(
            [*command("dtms"), "serve", "--config", str(config), "--port", str(free_port())],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr[-2000:]
        (line,) = second.stderr.strip().splitlines()[-1:]
        assert line == (
            f"dtms: cannot start: store {state}: another DTMS engine (pid {first.proc.pid}) "
            "manages these trades; two engines on one store would act on every trade twice "
            "(stop it, give each its own state_dir, share a Redis store: docs/scaling.md, or, "
            'for a host beside a dtms serve, set the host\'s [plugin.dtms] strategy = "remote")'
        )
        assert "Traceback" not in second.stderr
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
    # the lock went with the killed process: the store serves again at once
    with dtms_server(config, free_port(), monitor_seconds=0.5, log=tmp_path / "b.log") as again:
        assert again.proc.poll() is None
