"""A Ctrl-C while ``dtms serve`` is still starting (importing the host, opening the store,
binding the port) ends it with one line and exit 130, never a traceback from wherever the
signal fell. The child runs with ``-X importtime`` so the test can send SIGINT right after
a chosen module has been imported, a point inside start-up on a fast or a loaded machine.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

#: Modules imported one after another inside ``dtms serve``'s ``main`` (``dtms_plugin.cli``
#: itself runs as ``__main__`` and never shows by name); SIGINT follows each.
AFTER_IMPORT = ("hostapp.config", "aiohttp.web", "hostapp.serve")
#: A child that never imports the module (or never stops) is killed after this long.
DEADLINE_SECONDS = 60.0


@pytest.mark.parametrize("module", AFTER_IMPORT)
def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path, module: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "dtms_plugin.cli", "serve", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    seen: list[str] = []
    reached = False
    watchdog = threading.Timer(DEADLINE_SECONDS, child.kill)
    watchdog.start()
    try:
        for line in child.stderr:
            seen.append(line)
            # "import time:  self [us] | cumulative | module", written once it is imported
            if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == module:
                reached = True
                break
        child.send_signal(signal.SIGINT)
        rest_out, rest_err = child.communicate(timeout=DEADLINE_SECONDS)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert reached, f"{module} was never imported: {''.join(seen)[-2000:]}"
    errors = [
        line for line in [*seen, *rest_err.splitlines()] if not line.startswith("import time:")
    ]
    assert not any("Traceback" in line for line in errors), "".join(errors)
    assert child.returncode in (0, 130), (child.returncode, errors, rest_out)
    if child.returncode == 130:
        assert any(line.startswith("dtms: interrupted") for line in errors), errors
