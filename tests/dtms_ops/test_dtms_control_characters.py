"""A close's ``reason`` is a client's words, kept as sent (a close report must not be
lost), but never written raw to a log line or a terminal: ``"tp\\n2026-12-06 22:50:00,000
CRITICAL fake: account wiped\\x1b[2J"`` forged a line of ``dtms serve``'s log, and ``dtms
trade`` and ``dtms actions`` printed the ESC that clears a terminal. Now each control
character is shown escaped. A registration's ``comment`` with one is refused (a 400
naming it: a broker's comment never holds one, and a trading host drops them before it
registers, docs/client.md). Real processes: a ``dtms serve`` and the ``dtms`` verbs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from support.e2e_procs import AUTH, Server, dtms_server, dtms_verb, free_port, toml_config

TICKET = 5024
FORGED = "2026-12-06 22:50:00,000 CRITICAL fake: account wiped"
REASON = f"tp\n{FORGED}\x1b[2J"
COMMENT = f"mine\r\n{FORGED}\x1b]0;owned\x07"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("control_chars")
    config = toml_config(tmp / "plugins.toml", symbols=["XAUUSD"],
                         account_file=tmp / "account.db", state_dir=tmp / "state")  # fmt: skip
    with dtms_server(config, free_port(), monitor_seconds=3600, log=tmp / "server.log") as s:
        body = {"ticket": TICKET, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
                "volume": 0.1, "stop_loss": 1990.0, "comment": COMMENT}  # fmt: skip
        refused = requests.post(f"{s.url}/dtms/trade/enable", json=body, headers=AUTH, timeout=30)
        assert (refused.status_code, refused.json()["field"]) == (400, "comment"), refused.text
        body["comment"] = "mine"
        done = requests.post(f"{s.url}/dtms/trade/enable", json=body, headers=AUTH, timeout=30)
        assert done.status_code == 201, done.text
        closed = requests.post(f"{s.url}/dtms/trade/{TICKET}/closed", headers=AUTH,
                               json={"reason": REASON, "profit": 1.5}, timeout=30)  # fmt: skip
        assert closed.status_code == 200, closed.text
        yield s


def _clean(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text, repr(text)
    assert not any(line.lstrip("│ ").startswith(FORGED[:23]) for line in text.splitlines())


def test_the_reason_is_kept_as_sent(served: Server) -> None:
    view = requests.get(f"{served.url}/dtms/trade/{TICKET}", headers=AUTH, timeout=30).json()
    assert view["trade_info"]["close_reason"] == REASON
    assert view["trade_info"]["comment"] == "mine"  # the one with control characters refused


@pytest.mark.parametrize("verb", [["trade", str(TICKET)], ["actions"]], ids=" ".join)
def test_the_verbs_tables_show_control_characters_escaped(served: Server, verb: list[str]) -> None:
    done = dtms_verb(*verb, url=served.url, env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr
    _clean(done.stdout)
    assert "\\x1b[2J" in done.stdout and "tp\\n2026" in done.stdout, done.stdout


def test_the_servers_log_has_one_line_per_record(served: Server) -> None:
    requests.get(f"{served.url}/health", timeout=30)
    log = served.log.read_text()
    _clean(log)
    assert "tp\\n2026" in log, log[-3000:]  # the close was said, its reason escaped
