"""``hostapp replay`` in a real subprocess, as a trader runs it: the tests of the A/B and
of sweeps share it (the environment's ``HOSTAPP_*`` switches left out)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def replay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
