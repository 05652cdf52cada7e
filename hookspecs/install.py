"""How an optional part of the project is installed: :func:`install_hint`.

Why in the contract: the project is not on PyPI (README.md, "Install"), so a hint like
``pip install "hostapp[redis]"`` cannot work; an extra is installed from the project's own
folder. Both the host (the MetaTrader packages) and the DTMS plugin (the redis package)
say it, and they may not import each other, so the one wording lives here.
"""

from __future__ import annotations

import importlib.metadata
import json
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: The distribution's name: pyproject.toml's ``[project] name``.
DISTRIBUTION = "hostapp"


def install_hint(extra: str, *, force: bool = False) -> str:
    """The command that installs ``extra`` of this project, fit to paste as written.

    When the folder it was installed from can be found, the command names it: the source
    checkout the code runs from (an editable install, or a checkout on ``PYTHONPATH``)
    gets ``pip install -e "/that/folder[extra]"``; a plain install from a local folder
    that still exists gets ``pip install "/that/folder[extra]"``. Otherwise it says to run
    ``pip install ".[extra]"`` in the project folder. ``force`` adds ``--force-reinstall``
    (a package that is installed but does not import)."""
    flag = "--force-reinstall " if force else ""
    found = project_folder()
    if found is None:
        return f'pip install {flag}".[{extra}]" in the {DISTRIBUTION} project folder'
    folder, editable = found
    return f'pip install {flag}{"-e " if editable else ""}"{folder}[{extra}]"'


def project_folder() -> tuple[Path, bool] | None:
    """The project folder this code was installed from, and whether it runs from there
    (editable); None when no such folder is found."""
    checkout = Path(__file__).resolve().parent.parent
    if _is_the_project(checkout):
        return checkout, True
    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    source = _local_source(text or "")
    if source is not None and _is_the_project(source):
        return source, False
    return None


def _local_source(text: str) -> Path | None:
    """The local folder a ``direct_url.json`` (PEP 610) names, if it names one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "dir_info" not in data:
        return None
    url = urlsplit(str(data.get("url", "")))
    if url.scheme != "file":
        return None
    path = unquote(url.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # file:///C:/... on Windows
        path = path[1:]
    return Path(path)


def _is_the_project(folder: Path) -> bool:
    """Whether ``folder`` holds this project's pyproject.toml."""
    try:
        data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    project = data.get("project")
    return isinstance(project, dict) and project.get("name") == DISTRIBUTION
