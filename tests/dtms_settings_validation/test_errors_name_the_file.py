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
            "mine.toml [plugin.dtms]: fresh_seconds: must be >= 0",
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
