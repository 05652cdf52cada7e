"""The ``dtms`` operator verbs as real processes against a real ``dtms serve`` process:
tables, ``--json``, the token from the environment, and a server that is not running
(one line, exit 1, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from support.e2e_procs import (
    TOKEN,
    Server,
    command,
    dtms_server,
    dtms_verb,
    free_port,
    toml_config,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ops")
    config = toml_config(
        tmp / "plugins.toml",
        symbols=["XAUUSD", "EURUSD"],
        account_file=tmp / "account.db",
        state_dir=tmp / "state",
    )
    with dtms_server(config, free_port(), monitor_seconds=3600, log=tmp / "server.log") as s:
        yield s


def dtms(*args: str, url: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    return dtms_verb(*args, url=url, token=token)


def test_register_then_look_at_it_every_way(server: Server) -> None:
    url = server.url
    done = dtms("register", "501", "XAUUSD", "buy", "--entry", "2000", "--volume", "0.1",
                "--sl", "1990", url=url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "registered" in done.stdout
    again = dtms("register", "501", "XAUUSD", "buy", "--entry", "2000", "--volume", "0.1",
                 "--json", url=url)  # fmt: skip
    assert json.loads(again.stdout)["already_registered"] is True

    status = dtms("status", url=url)
    assert status.returncode == 0 and "HEALTHY" in status.stdout and "trades" in status.stdout
    assert json.loads(dtms("status", "--json", url=url).stdout)["trades"] >= 1

    table = dtms("trades", url=url)
    assert table.returncode == 0 and "501" in table.stdout and "XAUUSD" in table.stdout
    healthy = json.loads(dtms("trades", "--state", "healthy", "--json", url=url).stdout)
    assert "501" in healthy
    assert json.loads(dtms("trades", "--state", "HEDGED", "--json", url=url).stdout) == {}

    one = dtms("trade", "501", url=url)
    assert one.returncode == 0 and "Trade 501 is in HEALTHY state" in one.stdout
    view = json.loads(dtms("trade", "501", "--json", url=url).stdout)
    assert view["trade_info"]["state"] == "HEALTHY"
    missing = dtms("trade", "909", url=url)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "909 is not managed" in missing.stderr

    assert dtms("unregister", "501", url=url).returncode == 0
    history = json.loads(dtms("actions", "--ticket", "501", "--json", url=url).stdout)
    assert [e["type"] for e in history] == ["unregistered"]
    assert "unregistered" in dtms("actions", url=url).stdout
    assert dtms("unregister", "501", url=url).returncode == 1


def test_a_refused_registration_exits_1_with_the_servers_reason(server: Server) -> None:
    done = dtms("register", "502", "NOPE", "buy", "--entry", "1", "--volume", "1", url=server.url)
    assert done.returncode == 1
    assert "refused" in done.stdout and "does not trade" in done.stdout


def test_without_the_token_the_server_says_401_in_one_line(server: Server) -> None:
    done = dtms("status", url=server.url, token=None)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "401" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "verb",
    [["status"], ["trades"], ["trade", "1"], ["actions"], ["unregister", "1"],
     ["register", "1", "XAUUSD", "buy", "--entry", "1", "--volume", "1"]],
)  # fmt: skip
def test_a_server_that_is_not_running_is_one_line_and_exit_1(verb: list[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = [*verb, "--timeout", "0.5"]
    done = dtms(*args, url=url)
    assert done.returncode == 1
    assert done.stderr == f"dtms: server not running at {url}\n"
    assert done.stdout == ""
    # with --json a script reading stdout gets the failure as JSON, not nothing
    as_json = dtms(*args, "--json", url=url)
    assert as_json.returncode == 1 and as_json.stderr == done.stderr
    body = json.loads(as_json.stdout)
    assert body["error"] == f"server not running at {url}" and body["success"] is False
    assert body.get("ticket") == (1 if verb[0] in ("trade", "unregister", "register") else None)


@pytest.mark.parametrize("token", [TOKEN, None], ids=["token", "no-token"])
def test_a_password_in_the_url_is_never_printed(token: str | None) -> None:
    """``--url http://user:password@host``: the password was printed in "server not
    running at ..." and "... the request could not be made" (the security probe), on a
    terminal and in the JSON a script logs. It is masked as everywhere else."""
    port = free_port()
    url = f"http://ops:pw-SECRET@127.0.0.1:{port}"
    for args in (["status"], ["status", "--json"], ["trade", "1", "--json"]):
        done = dtms(*args, "--timeout", "0.5", url=url, token=token)
        assert done.returncode == 1, done.stderr
        assert "pw-SECRET" not in done.stdout + done.stderr, done
        assert f"***@127.0.0.1:{port}" in done.stderr, done.stderr


def test_versions() -> None:
    for name in ("dtms", "hostapp"):
        done = subprocess.run([*command(name), "--version"], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith(f"{name} "), done


def test_a_table_cell_is_text_not_markup_and_floats_are_short() -> None:
    """A transition's reason carries the score's breakdown in brackets, which rich took
    for a markup tag and dropped; a score printed as -0.2400000000000002."""
    from rich.console import Console

    from dtms_plugin.ops import _table

    reason = "S=-2.80 [vwap_volume -0.50×2.60, momentum -0.20×2.00] confluence 1.00"
    console = Console(width=200, record=True)
    console.print(_table("t", ["reason", "score"], [[reason, -0.2400000000000002]]))
    shown = console.export_text()
    assert "[vwap_volume -0.50×2.60, momentum -0.20×2.00]" in shown
    assert "-0.24 " in shown and "0000000" not in shown


def test_trades_in_a_state_are_asked_of_the_server_not_all_fetched() -> None:
    """``dtms trades --state`` sends ``?state=`` (the server filters a history of weeks);
    a server older than the filter answers every trade, which the verb still filters."""
    import http.server
    import threading

    asked: list[str] = []
    every = {"trades": {"1": {"state": "HEALTHY", "trade_info": {}},
                        "2": {"state": "CLOSED", "trade_info": {}}},
             "unknown": [], "account_mode": None, "success": True}  # fmt: skip

    class Old(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            data = json.dumps(every).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    old = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Old)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{old.server_address[1]}"
        done = dtms("trades", "--state", "closed", "--json", url=url)
    finally:
        old.shutdown()
        old.server_close()
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)) == ["2"]
    # one page asked (an old server's answer says no more follow), filtered by the server
    paged = "/dtms/trades?limit=1000&after=0&state=CLOSED"  # paged by ticket (after)
    assert [p for p in asked if p.startswith("/dtms/trades")] == [paged]


def test_a_trades_prices_are_shown_with_their_digits(server: Server) -> None:
    """EURUSD's entry 1.08297 and stop 1.07964 read 1.083 and 1.0796 in the table (every
    float cut to 4 decimals): half a pip off, on the tool an operator checks levels with."""
    url = server.url
    done = dtms("register", "502", "EURUSD", "buy", "--entry", "1.08297", "--volume", "0.1",
                "--sl", "1.07964", url=url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = dtms("trade", "502", url=url)
    assert shown.returncode == 0, shown.stderr
    assert "1.08297" in shown.stdout and "1.07964" in shown.stdout, shown.stdout
    assert "1.083 " not in shown.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_an_output_that_cannot_be_written_is_one_line(server: Server) -> None:
    """``dtms status > /dev/full`` (a full disk under a redirect): one line and exit 1, as
    the host's commands say it, not a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in ("DTMS_TOKEN", "DTMS_URL")}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*command("dtms"), "status", "--url", server.url], stdout=full,
            stderr=subprocess.PIPE, text=True, env={**env, "DTMS_TOKEN": TOKEN}, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr == "dtms: cannot write the output: No space left on device\n"
