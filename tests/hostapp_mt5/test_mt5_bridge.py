"""The mt5linux bridge failing at start-up is one line and exit 2, never a traceback: a
release that does not import on this Python, a port where something other than an
mt5linux server listens, one that closes the connection, one nobody listens on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.fake_mt5.bridge import wire_mt5linux_module

from hookspecs import BrokerError
from hostapp.brokers.mt5 import Mt5Settings
from hostapp.brokers.mt5_settings import import_api

TESTS = Path(__file__).resolve().parents[1]


def _package(root: Path, body: str, version: str = "1.1.1") -> Path:
    """An installed ``mt5linux`` of ``version`` (its dist-info) whose import runs ``body``."""
    (root / "mt5linux").mkdir(parents=True)
    (root / "mt5linux" / "__init__.py").write_text(body)
    info = root / f"mt5linux-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mt5linux\nVersion: {version}\n")
    return root


#: what mt5linux 1.1.1's metatrader5.py does on Python 3.11: a SyntaxError at import,
#: here one every Python refuses
BROKEN = 'def f(:\n    return f"unterminated\n'


def test_a_release_that_does_not_import_names_itself_and_this_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(_package(tmp_path, BROKEN)))
    monkeypatch.delitem(sys.modules, "mt5linux", raising=False)
    with pytest.raises(BrokerError) as raised:
        import_api(Mt5Settings(module="mt5linux"))
    message = str(raised.value)
    python = ".".join(map(str, sys.version_info[:3]))
    assert message.startswith(
        f"mt5linux 1.1.1 is installed but cannot be imported on Python {python} (SyntaxError: "
    )
    root = TESTS.parent
    assert message.endswith(f'pip install -e "{root}[mt5linux]" (it pins mt5linux>=0.2.4,<1.1)')
    assert "\n" not in message


def test_a_missing_dependency_is_not_called_a_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(_package(tmp_path, "import rpyc_not_here\n", "1.0.11")))
    monkeypatch.delitem(sys.modules, "mt5linux", raising=False)
    with pytest.raises(BrokerError, match=r"^mt5linux 1\.0\.11 is installed but cannot be "):
        import_api(Mt5Settings(module="mt5linux"))


class _Http(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """``python -m http.server``'s server, on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Http)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def closing_port() -> Iterator[int]:
    """A server that accepts each connection and closes it at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.mark.parametrize("server", ["http_port", "closing_port"])
def test_a_port_that_is_no_mt5linux_server_is_one_line_naming_it(
    server: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue(server)
    settings = Mt5Settings(module="mt5linux", host="127.0.0.1", port=port)
    with pytest.raises(BrokerError) as raised:
        import_api(settings, wire_mt5linux_module())
    message = str(raised.value)
    assert message.startswith(
        f"the server at 127.0.0.1:{port} closed the connection before answering as an "
        "mt5linux server does (EOFError: "
    )
    assert message.endswith("start it under Wine with: wine python.exe -m mt5linux")


def test_a_port_nobody_listens_on_is_said_as_before() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])  # free once closed
    with pytest.raises(
        BrokerError, match=rf"^cannot reach the mt5linux server at 127\.0\.0\.1:{port} "
    ):
        import_api(
            Mt5Settings(module="mt5linux", host="127.0.0.1", port=port), wire_mt5linux_module()
        )


WIRED = "from support.fake_mt5.bridge import wire_mt5linux_module\n"
WIRED += "MetaTrader5 = wire_mt5linux_module().MetaTrader5\n"


@pytest.mark.parametrize("body", [BROKEN, WIRED], ids=["does not import", "not a bridge"])
def test_hostapp_run_live_says_it_in_one_line_and_exits_2(
    tmp_path: Path, http_port: int, body: str
) -> None:
    """``hostapp run --live`` printed a traceback (SyntaxError, EOFError) and exited 1."""
    _package(tmp_path / "site", body)
    (tmp_path / "plugins.toml").write_text(
        '[host]\nbroker = "mt5"\nsymbols = ["XAUUSD"]\n\n'
        f'[host.mt5]\nmodule = "mt5linux"\nhost = "127.0.0.1"\nport = {http_port}\n'
    )
    path = os.pathsep.join([str(tmp_path / "site"), str(TESTS), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--report", "report"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("hostapp: cannot start on MetaTrader: ")
    if body is BROKEN:
        assert "mt5linux 1.1.1 is installed but cannot be imported" in line
    else:
        assert f"the server at 127.0.0.1:{http_port} closed the connection" in line
