"""The test examples/sma_strategy/README.md shows a plugin author runs as written, with
pytest in a folder of its own (its fixtures come from ``hostapp.testing``'s pytest
plugin, not from this suite's conftest): it used names it never defined."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "examples" / "sma_strategy" / "README.md"


def test_the_readmes_plugin_test_passes_as_written(tmp_path: Path) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (tmp_path / "test_example.py").write_text(block)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
