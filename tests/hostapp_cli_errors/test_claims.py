"""A claim (hostapp/claims.py) claimed twice by one process holds until its last release:
a record lock belongs to the process, and closing the second claim's descriptor dropped
the first one's too, so another process could take a report folder still in use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hostapp.claims import claim

TRY = """
import sys
from pathlib import Path
from hostapp.claims import Held, claim
try:
    claim(Path(sys.argv[1]))
except Held as exc:
    print("held by", exc.holder)
else:
    print("got it")
"""


def _other_process(lock: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", TRY, str(lock)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_claim_taken_twice_in_one_process_holds_until_the_last_release(tmp_path: Path) -> None:
    lock = tmp_path / "report" / ".hostapp.lock"
    lock.parent.mkdir()
    first = claim(lock)
    second = claim(lock)
    second.release()
    assert _other_process(lock).startswith("held by pid ")
    second.release()  # twice: nothing more
    assert _other_process(lock).startswith("held by pid ")
    first.release()
    assert _other_process(lock) == "got it"
