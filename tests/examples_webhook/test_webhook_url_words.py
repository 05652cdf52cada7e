"""A webhook URL the notifier cannot use stops ``hostapp run`` with one line that names
the table, the key and the fault, the URL's path (a webhook's token) never shown. Two
faults were said wrongly: an unclosed IPv6 bracket read as "a valid port", and a missing
``url`` key as "expected an http(s) webhook URL, got ''"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "tok-4e8d21"
HEAD = "hostapp: plugins.toml [plugin.notify_webhook]: key 'url'"
WRITTEN = "(an IPv6 host is written in brackets, as http://[::1]:8080/…)"


@pytest.mark.parametrize(
    ("table", "line"),
    [
        (f'url = "http://[::1/api/webhooks/1/{SECRET}"',
         f"{HEAD}: the host's '[' is never closed by ']' {WRITTEN}, got 'http://***'"),
        (f'url = "http://::1]:8080/api/webhooks/1/{SECRET}"',
         f"{HEAD}: the host has a ']' without its '[' {WRITTEN}, got 'http://***'"),
        (f'url = "http://[not-v6]/api/webhooks/1/{SECRET}"',
         f"{HEAD}: the host's brackets hold no IPv6 address {WRITTEN}, got 'http://***'"),
        ("retries = 1",
         f'{HEAD} is required: the webhook\'s URL, as url = "https://discord.com/api/webhooks/…"'
         " (it is missing or empty)"),
    ],
    ids=["unclosed [", "] without [", "no IPv6 address", "no url key"],
)  # fmt: skip
def test_a_url_the_notifier_cannot_use_is_one_line_naming_the_fault(
    tmp_path: Path, table: str, line: str
) -> None:
    config = f'[plugins]\nenabled = ["notify_webhook"]\n[plugin.notify_webhook]\n{table}\n'
    (tmp_path / "plugins.toml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--days", "1", "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [line], done.stderr
    assert SECRET not in done.stdout + done.stderr
