"""``hookspecs.install_hint``: an install command for an extra that works as written. The
project is not on PyPI (README.md, "Install"), so the command names the folder the
project was installed from, or says to run it in the project folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import hookspecs
from hookspecs import install_hint
from hookspecs.install import _local_source

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_is_named_and_installed_editable() -> None:
    assert Path(hookspecs.__file__).resolve().parents[1] == ROOT  # these tests run from it
    assert install_hint("redis") == f'pip install -e "{ROOT}[redis]"'
    assert install_hint("mt5", force=True) == f'pip install --force-reinstall -e "{ROOT}[mt5]"'


def test_a_plain_install_from_a_folder_names_that_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my project"
    text = '{"dir_info": {}, "url": "file://' + str(folder).replace(" ", "%20") + '"}'
    assert _local_source(text) == folder
    assert _local_source('{"url": "https://example.org/x.whl", "archive_info": {}}') is None
    assert _local_source('{"url": "file:///tmp/x.whl", "archive_info": {}}') is None
    assert _local_source("not json") is None


def test_without_a_project_folder_it_says_to_run_it_in_the_project_folder(
    tmp_path: Path,
) -> None:
    """A copy of the module outside any checkout, on a Python that sees no installed
    hostapp (``-S``, no site-packages): the fallback wording."""
    alone = tmp_path / "site" / "install.py"
    alone.parent.mkdir()
    shutil.copy(ROOT / "hookspecs" / "install.py", alone)
    out = subprocess.run(
        [sys.executable, "-S", "-c", "import install; print(install.install_hint('redis'))"],
        cwd=alone.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == 'pip install ".[redis]" in the hostapp project folder\n'
