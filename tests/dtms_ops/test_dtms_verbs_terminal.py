"""The operator verbs' tables on a narrow terminal, as real processes against a real
``dtms serve``: rich reads the width from ``$COLUMNS``, and no line is wider than it, so a
terminal never wraps a table's rows a second time."""

from __future__ import annotations

import pytest
from support.e2e_procs import Server, dtms_verb

from .conftest import CLOSED


@pytest.mark.parametrize(
    "verb", [["status"], ["trades"], ["trade", str(CLOSED)], ["actions"]], ids=" ".join
)
def test_every_table_fits_80_columns(served: Server, verb: list[str]) -> None:
    done = dtms_verb(*verb, url=served.url, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 3
    assert max(len(line) for line in lines) <= 80, done.stdout
    assert str(CLOSED) in done.stdout or verb == ["status"]
