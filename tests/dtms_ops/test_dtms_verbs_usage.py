"""The operator verbs' own checks, as real processes: a URL that is not http(s) is one
line naming ``--url`` or ``$DTMS_URL`` with exit 2 (no traceback), and a server that takes
the connection but never answers is said to have not answered within ``--timeout``, not to
be not running."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support.e2e_procs import dtms_verb


@pytest.mark.parametrize(
    ("url", "env", "named"),
    [
        ("notaurl", {}, "--url 'notaurl'"),
        ("ftp://127.0.0.1:21", {}, "--url 'ftp://127.0.0.1:21'"),
        (None, {"DTMS_URL": " http://127.0.0.1:8001"}, "$DTMS_URL ' http://127.0.0.1:8001'"),
    ],
)
def test_a_url_that_is_not_http_is_a_usage_error(
    url: str | None, env: dict[str, str], named: str
) -> None:
    for verb in (["status"], ["unregister", "1"]):
        done = dtms_verb(*verb, url=url, env=env)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"dtms: {named} is not an http:// or https:// URL\n"
        assert done.stdout == ""


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port whose listener takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_server_that_never_answers_is_named_with_the_timeout(silent_url: str) -> None:
    done = dtms_verb("status", "--timeout", "1.5", url=silent_url)
    assert done.returncode == 1
    assert done.stderr == (
        f"dtms: the server at {silent_url} did not answer within 1.5 s (--timeout)\n"
    )


@pytest.mark.parametrize(
    "args",
    [["actions", "--limit", "0"], ["actions", "--limit", "-1"], ["status", "--timeout", "0"],
     ["status", "--timeout", "-1"], ["status", "--timeout", "nan"]],
    ids=" ".join,
)  # fmt: skip
def test_a_limit_or_timeout_that_cannot_work_is_a_usage_error(args: list[str]) -> None:
    """Refused before any request: a server at the URL is never asked (none is running)."""
    done = dtms_verb(*args, url="http://127.0.0.1:9")
    assert done.returncode == 2, done.stderr
    assert f"invalid _{'positive' if '--limit' in args else 'seconds'} value" in done.stderr
    assert "server" not in done.stderr
