"""A deeper schemathesis run against a real ``dtms serve`` on 127.0.0.1 than the suite's.

    .venv/bin/python scripts/fuzz_api.py --examples 500 [--seed 1]

Starts ``dtms serve`` on a random loopback port over a fresh paper account in a
temporary folder, runs schemathesis with every check on and ``--examples`` test cases per
operation, once with the token and once without it, and prints the figures as JSON
(requests, failures, seconds). Exit code 1 when either run found anything; its console
report is printed then. The rig is the suite's (``tests/support/dtms_fuzz.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.dtms_fuzz import dtms_server, run_schemathesis

TOKEN = "fuzz-api-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures: dict[str, dict[str, float]] = {}
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="fuzz_api_") as tmp,
        dtms_server(Path(tmp), TOKEN) as url,
    ):
        for name, token in (("with_token", TOKEN), ("without_token", None)):
            started = time.monotonic()
            result = run_schemathesis(
                url, Path(tmp) / name, server_token=TOKEN, token=token,
                examples=args.examples, seed=args.seed,
            )  # fmt: skip
            figures[name] = {
                "requests": result.requests,
                "failures": result.failures,
                "exit_code": result.exit_code,
                "seconds": round(time.monotonic() - started, 1),
            }
            if result.exit_code != 0 or result.failures:
                failed = True
                print(result.output, file=sys.stderr)
    print(json.dumps({"examples": args.examples, "seed": args.seed, **figures}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
