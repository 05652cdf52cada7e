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


@pytest.mark.parametrize(
    ("url", "env", "said"),
    [
        ("http://127.0.0.1:99999", {}, "--url 'http://127.0.0.1:99999' is not a usable URL:"
         " Port out of range 0-65535"),
        ("http://[::1", {}, "--url 'http://[::1' is not a usable URL: Invalid IPv6 URL"),
        (None, {"DTMS_URL": "http://127.0.0.1:99999"}, "$DTMS_URL 'http://127.0.0.1:99999' is"
         " not a usable URL: Port out of range 0-65535"),
    ],
)  # fmt: skip
def test_a_url_no_request_can_use_is_a_usage_error(
    url: str | None, env: dict[str, str], said: str
) -> None:
    """It was exit 1 with "the request could not be made: InvalidUrlClientError: ..."."""
    done = dtms_verb("status", url=url, env=env)
    assert (done.returncode, done.stderr, done.stdout) == (2, f"dtms: {said}\n", "")


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
    ("args", "said"),
    [
        *[(["actions", "--limit", v], f"argument --limit: expected a whole number of 1 or"
           f" more, got '{v}'") for v in ("0", "-1", "x", "1.5")],
        *[(["status", "--timeout", v], f"argument --timeout: expected a number of seconds"
           f" above 0, such as 5 or 0.5, got '{v}'") for v in ("0", "-1", "nan", "inf", "abc")],
        (["status", "--token-env", ""], "argument --token-env: must not be empty: the name of"
         " the variable holding the token (default DTMS_TOKEN), got ''"),
        (["status", "--token-env", " "], "argument --token-env: must not be empty"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)  # fmt: skip
def test_a_limit_timeout_or_token_variable_that_cannot_work_is_a_usage_error(
    args: list[str], said: str
) -> None:
    """Refused before any request: a server at the URL is never asked (none is running).
    The line says what the flag takes: it said "invalid _seconds value: '0'", naming a
    function of the code; an empty --token-env was taken and sent no token, where the
    configuration's token_env = "" is refused."""
    done = dtms_verb(*args, url="http://127.0.0.1:9")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"dtms {args[0]}: error: {said}"), last
    assert "invalid _" not in done.stderr and "server" not in done.stderr
