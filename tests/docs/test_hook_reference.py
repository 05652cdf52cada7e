"""The hook reference in docs/plugins.md is generated from the hookspec docstrings and must
not drift from them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_hook_reference.py"


def test_hook_reference_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_fails_when_the_reference_drifts(tmp_path: Path) -> None:
    # Run the generator's logic against an edited copy: a stale reference must be caught.
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gen_hook_reference as gen
    finally:
        sys.path.remove(str(SCRIPT.parent))
    current = gen.GUIDE.read_text(encoding="utf-8")
    stale = current.replace("### `is_defensive(host, ticket)`", "### `is_defensive(host)`")
    assert stale != current
    assert gen.updated(stale) == current


def test_every_hook_is_in_the_reference() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    from hookspecs import spec

    hooks = [n for n, f in vars(spec).items() if hasattr(f, "hostapp_spec")]
    assert len(hooks) == 14
    for name in hooks:
        assert f"### `{name}(" in text
