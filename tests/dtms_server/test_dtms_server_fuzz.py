"""schemathesis against a real ``dtms serve`` on 127.0.0.1: every check on, a fixed seed
and a bounded number of examples, with the token and without it. No 5xx, no response
outside the document, no schema-valid request refused, no invalid one accepted, no route
open without the token; and against the default configuration, a server without a token,
whose document then asks for none. ``scripts/fuzz_api.py --examples N`` runs the same
deeper."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.dtms_fuzz import FuzzResult, dtms_server, run_schemathesis

pytest.importorskip("schemathesis")

TOKEN = "fuzz-token"
EXAMPLES = 30
SEED = 1


def test_schemathesis_finds_nothing_with_and_without_the_token(tmp_path: Path) -> None:
    with dtms_server(tmp_path, TOKEN) as url:
        runs = {
            name: run_schemathesis(
                url, tmp_path / name, server_token=TOKEN, token=token, examples=EXAMPLES,
                seed=SEED,
            )
            for name, token in (("with-token", TOKEN), ("without-token", None))
        }  # fmt: skip
    _assert_clean(runs)


def test_schemathesis_finds_nothing_on_a_server_without_a_token(tmp_path: Path) -> None:
    """The default configuration: its document declared a bearer token it never asked
    for, and every check that sends no token failed (18 failures)."""
    with dtms_server(tmp_path, None) as url:
        run = run_schemathesis(
            url, tmp_path / "no-token", server_token=None, token=None, examples=EXAMPLES,
            seed=SEED,
        )  # fmt: skip
    _assert_clean({"no-token": run})


def _assert_clean(runs: dict[str, FuzzResult]) -> None:
    for name, result in runs.items():
        assert result.exit_code == 0 and result.failures == 0, f"{name}:\n{result.output}"
        assert result.requests >= 7 * EXAMPLES, f"{name}: only {result.requests} requests"
