"""What the README shows beside the commands: the dashboard picture's tool, run as
written (a real live run, a real headless Chromium), and the ``pip install`` lines of its
optional extras, resolved by pip against the package index as a user's would be."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_dashboard_screenshot_tool(tmp_path: Path) -> None:
    """``tools/dashboard_screenshot.py`` photographs a live run's dashboard once DTMS has
    hedged and trades have closed; without Chromium it says so in one line, exit 2."""
    assert "tools/dashboard_screenshot.py" in README
    out = tmp_path / "dashboard.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/dashboard_screenshot.py"),
         "--speed", "600", "--out", str(out), "--timeout", "240"],
        cwd=tmp_path, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        assert proc.returncode == 2
        assert proc.stderr.strip() == "dashboard_screenshot: chromium is not installed"
        return
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown["command"].startswith("hostapp run --live --serve --port ")
    assert shown["states"]["CLOSED"] >= 1
    assert shown["states"]["WARNING_L2"] + shown["states"]["HEDGED"] >= 1
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1440, 3000)  # the window it asks for


def _resolved(extra: str) -> dict[str, str]:
    """What ``pip install ".[EXTRA]"`` in the project folder would install (pip's dry run,
    ignoring what this venv has: everything is resolved from the index): name → version."""
    report = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--report", "-", f".[{extra}]"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr[-2000:]
    installs = json.loads(report.stdout)["install"]
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in installs}


@pytest.mark.parametrize("extra", ["redis", "mt5", "mt5linux"])
def test_the_extras_the_readme_installs_resolve(extra: str) -> None:
    assert f'pip install ".[{extra}]"' in README
    got = _resolved(extra)
    assert "hostapp" in got
    if extra == "redis":
        assert int(got["redis"].split(".")[0]) >= 5
    elif extra == "mt5":  # Windows-only wheels: nothing more on this platform
        assert "metatrader5" not in got
    else:
        major, minor, *_ = (int(p) for p in got["mt5linux"].split(".")[:2])
        assert (0, 2) <= (major, minor) < (1, 1)
