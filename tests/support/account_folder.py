"""A folder with the shipped plugins.toml and its paper account file, for the tests that
start real processes on it (``hostapp run --live``, ``dtms serve``, ``hostapp serve``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hostapp.brokers.paper_account import AccountMeta
from hostapp.brokers.paper_account_file import SqliteStore
from support.e2e_procs import command

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ".hostapp/paper-account.sqlite"  # the shipped plugins.toml's


def shipped_config(
    folder: Path, *, balance: float | None = None, state_dir: str | None = None
) -> None:
    """plugins.toml in ``folder``: the shipped one, with its ``[host.paper] balance`` and
    ``[plugin.dtms] state_dir`` set when given."""
    text = (ROOT / "plugins.toml").read_text()
    if balance is not None:
        text = text.replace("# balance = 10000 ", f"balance = {balance}", 1)
        assert f"balance = {balance}" in text
    if state_dir is not None:
        text = text.replace('state_dir = ".hostapp/dtms"', f'state_dir = "{state_dir}"', 1)
        assert f'state_dir = "{state_dir}"' in text
    (folder / "plugins.toml").write_text(text)


def account_file(folder: Path, meta: AccountMeta) -> Path:
    """An account file made by the current version in ``folder``'s default place."""
    path = folder / ACCOUNT
    path.parent.mkdir(exist_ok=True)
    SqliteStore(path, meta).close()
    return path


def env_without(*prefixes: str) -> dict[str, str]:
    """This environment without the variables starting with any of ``prefixes``."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_live(folder: Path, days: int = 1) -> subprocess.CompletedProcess[str]:
    """``hostapp run --live`` at speed in ``folder``, to its end."""
    argv = ["run", "--live", "--speed", "100000", "--days", str(days)]
    return subprocess.run(
        [*command("hostapp"), *argv],
        cwd=folder, env=env_without("HOSTAPP_"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def refused_serve(folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    """``PROGRAM serve`` on every address without a token: refused for its bind."""
    return subprocess.run(
        [*command(program), "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=folder, env=env_without("DTMS_TOKEN"), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
