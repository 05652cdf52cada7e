"""The direction of imports is enforced, not hoped for: the import-linter contracts in
pyproject.toml hold for the code as it is (the same check ``make lint`` runs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    script = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(script), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _importers_of(package: str, of: str) -> list[str]:
    """Lines of ``package``'s modules that import ``of``, lazily or not."""
    pattern = re.compile(rf"^\s*(from|import)\s+{of}(\.|\s|$)")
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.match(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_host_never_imports_the_dtms_plugin() -> None:
    """The host finds DTMS like any plugin (by its entry point or builtin name), never by
    an import: it serves DTMS's pages through the ``web_routes`` hook."""
    assert _importers_of("hostapp", "dtms_plugin") == []


def test_the_dtms_plugin_never_imports_the_host() -> None:
    """DTMS is a plugin like a third party's: ``dtms serve`` reaches the host's serve mode
    through the ``hostapp`` console-script entry point, never by an import."""
    assert _importers_of("dtms_plugin", "hostapp") == []


def test_the_contract_imports_neither_the_host_nor_a_plugin() -> None:
    assert _importers_of("hookspecs", "hostapp") == []
    assert _importers_of("hookspecs", "dtms_plugin") == []
