"""A ``redis://`` store on a Python without the redis package is one line saying how to
install it, as a command that works: the project is not on PyPI (README.md, "Install")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

OPEN = """
from dtms_plugin.store.location import open_store
from dtms_plugin.store.opening import StoreError
try:
    open_store("redis://user:SECRET@127.0.0.1:6379/0", "unused")
except StoreError as exc:
    print(exc)
"""


def test_the_missing_redis_package_is_installed_from_the_project_folder(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    (blocked / "redis").mkdir(parents=True)
    (blocked / "redis" / "__init__.py").write_text('raise ImportError("not installed")\n')
    path = os.pathsep.join([str(blocked), str(ROOT), os.environ.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", OPEN],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == (
        "store redis://***@127.0.0.1:6379/0: the redis package is missing "
        f'(pip install -e "{ROOT}[redis]")\n'
    )
