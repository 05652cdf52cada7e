"""A plugin names only its table (``[plugin.dtms]``); the host prefixes the file it read,
so ``hostapp run`` answers one line naming file, table and key, with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOSTAPP = Path(sys.executable).parent / "hostapp"


def run(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.run(
        [str(HOSTAPP), "run", "--config", name, "--days", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[plugin.dtms]\nfresh_seconds = -1\n",
            "mine.toml [plugin.dtms]: fresh_seconds: must be in [0, 86400], got -1.0",
        ),
        (
            "[plugin.dtms.actions]\nflat_bars = -15\n",
            "mine.toml [plugin.dtms]: actions.flat_bars: must be in (0, 10000], got -15.0",
        ),
        (
            '[plugin.dtms]\napi_url = "localhost:8001"\n',
            "mine.toml [plugin.dtms]: api_url: expected an http:// or https:// URL",
        ),
        (
            '[plugin.sma_strategy]\nfast = "x"\n',
            "mine.toml [plugin.sma_strategy]: key 'fast': expected an integer",
        ),
        (
            '[host]\nbroker = "paper"\n[host.mt5]\npassword = "x"\n',
            "mine.toml [host.mt5]: key 'password' is not allowed",
        ),
        ('[host]\ntimeframe = "M7"\n', "mine.toml [host]: key 'timeframe': unknown timeframe"),
    ],
)
def test_a_config_error_is_one_line_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    done = run(tmp_path, "mine.toml", text)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"hostapp: {expected}")
    assert "plugins.toml" not in lines[0]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            '[plugin.dtms]\nstore = "redis://:pw-9c1e@127.0.0.1:99999/0"\n',
            "store: expected a redis://host:port/db URL, got 'redis://***@127.0.0.1:99999/0'",
        ),
        (
            '[plugin.dtms]\nstore = "redis://127.0.0.1:99999/0?password=pw-9c1e"\n',
            "got 'redis://127.0.0.1:99999/0?password=***'",
        ),
        (
            '[plugin.dtms]\napi_url = "https://me:pw-9c1e@dtms.example:99999/"\n',
            "api_url: expected an http:// or https:// URL with a host, got"
            " 'https://***@dtms.example:99999/'",
        ),
        (
            '[plugins]\nenabled = ["notify_webhook"]\n'
            '[plugin.notify_webhook]\nurl = "discord.com/api/webhooks/1/pw-9c1e"\n',
            "[plugin.notify_webhook]: key 'url': expected an http(s) webhook URL, got"
            " 'discord.com/***'",
        ),
    ],
)
def test_a_bad_url_is_named_with_its_secrets_masked(tmp_path: Path, text: str, shown: str) -> None:
    done = run(tmp_path, "mine.toml", text)
    assert done.returncode == 2, done.stderr
    assert shown in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "pw-9c1e" not in done.stdout + done.stderr
