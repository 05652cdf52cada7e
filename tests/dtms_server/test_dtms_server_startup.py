"""What ``dtms serve`` loads before it answers: a real start-up (the paper account file,
the streamed builtin feed, the local engine) in a child process, which looks at its own
modules once ``/health`` is 200 and the first monitoring cycle has run, then stops itself
with SIGINT.

numpy is only for a replay's indicators and redis only for a Redis store: a serving host
has neither, and importing them would cost it a fifth of a second each and about 20 MB
before its first answer (bench/serve_startup.py measures the start-up itself).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.dtms_fuzz import write_config
from support.ports import free_port

CHILD = """
import json, os, signal, sys, threading, time, urllib.request
from dtms_plugin.cli import main

def watch(url, out):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                body = json.load(answer)
            if body["monitor"]["cycles"] >= 1:
                break
        except OSError:
            pass
        time.sleep(0.05)
    loaded = sorted({m.split(".")[0] for m in sys.modules})
    with open(out, "w") as f:
        json.dump(loaded, f)
    os.kill(os.getpid(), signal.SIGINT)

url, out, *argv = sys.argv[1:]
threading.Thread(target=watch, args=(url, out), daemon=True).start()
sys.exit(main(argv))
"""


def test_serve_answers_without_importing_numpy_or_redis(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=("XAUUSD", "EURUSD"))
    port = free_port()
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, f"http://127.0.0.1:{port}/health", str(out),
         "serve", "--config", str(config), "--port", str(port), "--days", "1200",
         "--monitor-seconds", "0.2", "--log-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(out.read_text()))
    assert "dtms_plugin" in loaded and "aiohttp" in loaded  # it did start and serve
    assert not loaded & {"numpy", "redis"}, sorted(loaded & {"numpy", "redis"})
