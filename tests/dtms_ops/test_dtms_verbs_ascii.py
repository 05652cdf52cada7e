"""The operator verbs on an ASCII locale, as real processes against a real ``dtms serve``:
the tables' ``–`` and ``→`` are shown as ``?``; they crashed the verb."""

from __future__ import annotations

import pytest
from support.e2e_procs import Server, dtms_verb

from .conftest import CLOSED

ASCII = {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}


@pytest.mark.parametrize("verb", [["trades"], ["actions"], ["trade", str(CLOSED)]], ids=" ".join)
def test_a_table_on_an_ascii_locale_is_printed(served: Server, verb: list[str]) -> None:
    done = dtms_verb(*verb, url=served.url, env=ASCII)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and str(CLOSED) in done.stdout
    assert done.stdout.isascii()
