"""Third-party plugins for the tests that run ``hostapp`` as a real process: a module and
a distribution whose entry points name its objects, on ``PYTHONPATH``, found as any
installed plugin is (``importlib.metadata``), without installing anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def install(
    tmp_path: Path, source: str, entry_points: dict[str, str], *, group: str = "hostapp"
) -> dict[str, str]:
    """``source`` as module ``probe_plugins`` of a distribution with ``entry_points``
    (name → attribute, or ``""`` for the module itself) in entry-point ``group`` on
    sys.path; the environment that finds it (without the caller's ``HOSTAPP_*``)."""
    (tmp_path / "probe_plugins.py").write_text(source)
    dist = tmp_path / "probe_plugins-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugins\nVersion: 0.1\n")
    lines = "".join(
        f"{name} = probe_plugins{':' + attr if attr else ''}\n"
        for name, attr in entry_points.items()
    )
    (dist / "entry_points.txt").write_text(f"[{group}]\n" + lines)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    return env


def hostapp(
    cwd: Path, env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``hostapp ARGS`` run in ``cwd`` (its plugins.toml) with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
