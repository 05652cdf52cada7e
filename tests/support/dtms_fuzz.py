"""A real ``dtms serve`` on 127.0.0.1 for fuzzing, and schemathesis run against it.

Shared by ``tests/dtms_server/test_dtms_server_fuzz.py`` (a quick, bounded run in the
suite) and ``scripts/fuzz_api.py`` (a deeper run by hand). The server is a subprocess over
a paper account file, as an operator would run it; schemathesis runs as its own command
(``st run``) with every check on and a fixed seed, and its JSON report gives the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from support.ports import free_port


def _bin(name: str, module: str) -> list[str]:
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def write_config(folder: Path, symbols: Sequence[str] = ("XAUUSD",)) -> Path:
    """A plugins.toml for ``dtms serve`` on the paper broker (builtin data for
    ``symbols``), its files under ``folder``."""
    path = folder / "plugins.toml"
    path.write_text(
        f'[host]\nbroker = "paper"\nsymbols = {json.dumps(list(symbols))}\n'
        f'[host.paper]\naccount_file = "{folder / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{folder / "state"}"\n'
    )
    return path


@contextmanager
def dtms_server(folder: Path, token: str | None) -> Iterator[str]:
    """``dtms serve`` on a random loopback port, requiring ``token`` (None: no token, the
    default configuration), until the block ends; yields its URL."""
    config = write_config(folder)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DTMS_TOKEN"}
    if token is not None:
        env["DTMS_TOKEN"] = token
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [*_bin("dtms", "dtms_plugin.cli"), "serve", "--config", str(config),
         "--port", str(port), "--days", "2", "--monitor-seconds", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError((folder / "server.log").read_text())
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dtms serve did not become healthy")
            time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@dataclass(frozen=True)
class FuzzResult:
    """What one schemathesis run found (``output``: its console report)."""

    exit_code: int
    requests: int
    test_cases: int
    failures: int
    output: str


def run_schemathesis(
    url: str,
    folder: Path,
    *,
    server_token: str | None,
    token: str | None,
    examples: int,
    seed: int,
) -> FuzzResult:
    """``st run`` against ``url`` with all checks, ``examples`` per operation, ``seed``.

    The document is fetched with ``server_token`` (it is behind the token too; None: a
    server without one); the requests carry ``token`` (None: none, so every guarded route
    of a server with a token must answer 401)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    schema = folder / "openapi.json"
    auth = {"Authorization": f"Bearer {server_token}"} if server_token else {}
    schema.write_text(requests.get(f"{url}/openapi.json", headers=auth, timeout=10).text)
    command = [
        *_bin("st", "schemathesis.cli"), "run", str(schema), "--url", url,
        "--checks", "all", "--seed", str(seed), "--max-examples", str(examples),
        "--workers", "1", "--no-color", "--request-timeout", "10",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=3600, env=env, cwd=folder
    )
    return FuzzResult(done.returncode, *_figures(report), done.stdout + done.stderr)


def _figures(report: Path) -> tuple[int, int, int]:
    """(requests, test cases, failures) from schemathesis's JSON report: each generated
    test case is one request (stateful scenarios are counted per step)."""
    if not report.exists():
        return 0, 0, 0
    data = json.loads(report.read_text())
    cases = int(data["test_cases"]["generated"])
    failures = sum(int(f["count"]) for f in data["failures"]) + len(data["errors"])
    return cases, cases, failures
